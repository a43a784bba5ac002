// A child process of the noise bench: runs one side of one path (clients, or a bare server) and reports per-second
// samples as JSON lines on stdout, so the process under test measures its own noise and not its load's.
// Usage: node --import tsx bench/noise-worker.ts '<WorkerArgs JSON>'; "stop" (or EOF) on stdin ends it.
import nodeDataChannel from 'node-datachannel';
import type { DirectionStats } from '../shared/stats/direction-stats.js';
import { startBareClients, startBareServer } from './bare-peer.js';
import { sampleOf, WorkerArgsSchema, type NoiseSample, type WorkerArgs, type WorkerMessage } from './noise-messages.js';
import { startUdpEcho, startUdpPing } from './udp-ping.js';

const emit = (m: WorkerMessage) => process.stdout.write(`${JSON.stringify(m)}\n`);

// Samples go out in one line a second, not one per window.
const pending: NoiseSample[] = [];
/** Probes this worker's sessions received, over the windows they reported. */
let probesReceived = 0;
const flush = () => {
  if (pending.length > 0) emit({ type: 'samples', samples: pending.splice(0) });
};
const flushing = setInterval(flush, 1000);
// CPU and probe totals four times a second: a steady window's edges fall within a quarter second of a record.
const noteUsage = () => {
  const cpu = process.cpuUsage();
  emit({ type: 'usage', at: Date.now(), cpu_us: cpu.user + cpu.system, probes: probesReceived });
};
const usageTimer = setInterval(noteUsage, 250);
const take = (s: DirectionStats | null) => {
  probesReceived += s?.probe_count ?? 0;
  const sample = s && sampleOf(s);
  if (sample) pending.push(sample);
};

/** Starts what `args` names; resolves with its stop once every session is probing. */
async function start(args: WorkerArgs): Promise<{ stop: () => Promise<unknown> | void; url?: string; port?: number }> {
  switch (args.mode) {
    case 'relay-clients': {
      // Loaded only here: the bare and UDP workers run no relay or client code at all.
      const { startRelayClients } = await import('./relay-clients.js');
      return startRelayClients(args, args.sessions, take);
    }
    case 'bare-server':
      return startBareServer(take);
    case 'bare-clients':
      return startBareClients(args.url, args.sessions, take);
    case 'udp-echo':
      return startUdpEcho();
    case 'udp-ping':
      return startUdpPing(args.port, args.sessions, (rtt) => pending.push({ at: Date.now(), rtt }));
  }
}

async function main() {
  const args = WorkerArgsSchema.parse(JSON.parse(process.argv[2] ?? ''));
  let running: Awaited<ReturnType<typeof start>> | null = null;
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    clearInterval(flushing);
    clearInterval(usageTimer);
    flush();
    // Asked to stop mid set-up (the bench gave up on it): nothing to measure, just go.
    await running?.stop();
    nodeDataChannel.cleanup();
    process.exit(0);
  };
  process.stdin.on('data', (d: Buffer) => {
    if (d.toString().includes('stop')) void stop();
  });
  process.stdin.on('end', () => void stop());
  running = await start(args);
  if (!stopping) emit({ type: 'ready', ...(running.url ? { url: running.url } : {}), ...(running.port ? { port: running.port } : {}) });
}

main().catch((e: unknown) => {
  emit({ type: 'error', message: String((e as Error)?.stack ?? e) });
  process.exit(1);
});
