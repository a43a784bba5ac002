// The parent's handle on one capacity-worker child: start it, read its JSON lines, ask for its usage, stop it.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { CAPACITY_COMMANDS, CapacityMessageSchema, type CapacityArgs, type Records, type Usage } from './capacity-messages.js';

export interface CapacityWorker {
  /** Resolves once every session of the worker is probing (with a server's URL); rejects if it fails first. */
  ready: Promise<{ url?: string }>;
  /** The worker's own CPU time and RSS, read by the worker itself when asked. */
  usage(): Promise<Usage>;
  /** Asks it to stop cleanly (it sends what it still holds first), then kills it if it has not exited within `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

const WORKER = fileURLToPath(new URL('./capacity-worker.ts', import.meta.url));
const USAGE_TIMEOUT_MS = 10_000;

/** Spawns `bench/capacity-worker.ts` for `args`; the records it sends go to `onRecords`. */
export function spawnCapacityWorker(args: CapacityArgs, onRecords: (r: Records) => void): CapacityWorker {
  // The bare echo is the relay's reference: profiled beside it (RELAY_CPU_PROF_DIR/bare) for a like-for-like breakdown.
  const profDir = args.mode === 'bare-server' && process.env.RELAY_CPU_PROF_DIR;
  const profile = profDir ? ['--cpu-prof', `--cpu-prof-dir=${profDir}/bare`] : [];
  const child = spawn(process.execPath, [...profile, '--import', 'tsx', WORKER, JSON.stringify(args)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const gone = () => new Error(`${args.mode} worker exited with ${child.exitCode ?? child.signalCode}`);
  const usageWaiters: { resolve: (u: Usage) => void; reject: (e: Error) => void }[] = [];
  // A write after the child has gone fails asynchronously; the waiters learn of it from `exited`.
  child.stdin.on('error', () => undefined);
  const ready = new Promise<{ url?: string }>((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      let parsed;
      try {
        parsed = CapacityMessageSchema.safeParse(JSON.parse(line));
      } catch {
        return; // Not ours: a library printing to stdout.
      }
      if (!parsed.success) return;
      const m = parsed.data;
      if (m.type === 'ready') resolve(m.url ? { url: m.url } : {});
      else if (m.type === 'records') onRecords(m);
      else if (m.type === 'usage') usageWaiters.shift()?.resolve(m.usage);
      else reject(new Error(`${args.mode} worker: ${m.message}`));
    });
    void exited.then(() => {
      reject(gone());
      for (const w of usageWaiters.splice(0)) w.reject(gone());
    });
  });
  ready.catch(() => undefined); // The caller awaits it; an unawaited failure after stop must not crash the bench.
  return {
    ready,
    usage() {
      if (child.exitCode !== null || child.signalCode !== null) return Promise.reject(gone());
      return new Promise<Usage>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${args.mode} worker did not report its usage`)), USAGE_TIMEOUT_MS);
        usageWaiters.push({
          resolve: (u) => (clearTimeout(timer), resolve(u)),
          reject: (e) => (clearTimeout(timer), reject(e)),
        });
        child.stdin.write(`${CAPACITY_COMMANDS.usage}\n`);
      });
    },
    async stop(graceMs = 20_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.stdin.end(`${CAPACITY_COMMANDS.stop}\n`);
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}
