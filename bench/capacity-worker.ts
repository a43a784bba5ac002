// A child process of the capacity bench: runs one side of the load (relay clients, the bare echo, or its clients) and
// reports every window it closes as JSON lines on stdout, so the process under test carries the load and not its source.
// Usage: node --import tsx bench/capacity-worker.ts '<CapacityArgs JSON>'; stdin lines: "usage" (own CPU and RSS),
// "stop" (or EOF) ends it.
import { createInterface } from 'node:readline';
import nodeDataChannel from 'node-datachannel';
import { loopLagMs, startLoopMonitor } from '../relay/loop-lag.js';
import type { DirectionStats } from '../shared/stats/direction-stats.js';
import { startBareClients, startBareServer } from './bare-peer.js';
import { CAPACITY_COMMANDS, CapacityArgsSchema, type CapacityArgs, type CapacityMessage, type Records } from './capacity-messages.js';

const emit = (m: CapacityMessage) => process.stdout.write(`${JSON.stringify(m)}\n`);

// Records go out in one line a second, not one per window.
const pending: Records = { windows: [], sent: [] };
const flush = () => {
  if (pending.windows.length > 0 || pending.sent.length > 0) emit({ type: 'records', windows: pending.windows.splice(0), sent: pending.sent.splice(0) });
};
const flushing = setInterval(flush, 1000);
/** This process's event-loop delay: the bare echo's lag is read beside the relay's. */
const loop = startLoopMonitor();
/** A bare side's window: bare peers don't say which session a window is of. */
const bareWindow = (direction: 'c2s' | 's2c') => (stats: DirectionStats) => pending.windows.push({ session: '', at: Date.now(), direction, stats });

/** Starts what `args` names; resolves with its stop once every session is probing. */
async function start(args: CapacityArgs): Promise<{ stop: () => Promise<unknown> | void; url?: string }> {
  switch (args.mode) {
    case 'relay-clients': {
      // Loaded only here: the bare workers run no relay or client code at all.
      const { startCapacityClients } = await import('./capacity-clients.js');
      return startCapacityClients(args, args.sessions, { onWindow: (w) => pending.windows.push(w), onSent: (s) => pending.sent.push(s) });
    }
    case 'bare-server':
      return startBareServer(bareWindow('c2s'));
    case 'bare-clients':
      return startBareClients(args.url, args.sessions, bareWindow('s2c'));
  }
}

async function main() {
  const args = CapacityArgsSchema.parse(JSON.parse(process.argv[2] ?? ''));
  const running = await start(args);
  emit({ type: 'ready', ...(running.url ? { url: running.url } : {}) });
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    clearInterval(flushing);
    flush();
    await running.stop();
    nodeDataChannel.cleanup();
    process.exit(0);
  };
  const lines = createInterface({ input: process.stdin });
  lines.on('line', (line) => {
    const command = line.trim();
    if (command === CAPACITY_COMMANDS.usage) {
      const cpu = process.cpuUsage();
      // Lag as the relay's /metrics reads it: since the previous ask, so the span's figure is the one at its end.
      const lag = loopLagMs(loop.percentile(99));
      loop.reset();
      emit({ type: 'usage', usage: { at: Date.now(), cpu_us: cpu.user + cpu.system, rss_bytes: process.memoryUsage.rss(), lag_p99_ms: lag } });
    } else if (command === CAPACITY_COMMANDS.stop) void stop();
  });
  lines.on('close', () => void stop());
}

const die = (e: unknown) => {
  emit({ type: 'error', message: String((e as Error)?.stack ?? e) });
  process.exit(1);
};
// A stray rejection ends the worker with its reason on the line protocol, not as a bare exit code.
process.on('unhandledRejection', die);
main().catch(die);
