// The parent's handle on one noise-worker child: start it, read its JSON lines, stop it.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Usage } from './noise-cpu.js';
import { WorkerMessageSchema, type NoiseSample, type WorkerArgs } from './noise-messages.js';

export interface NoiseWorker {
  /** Resolves once every session of the worker is probing (with a server's URL or port); rejects if it fails first. */
  ready: Promise<{ url?: string; port?: number }>;
  /** Asks it to stop cleanly, then kills it if it has not exited within `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

const WORKER = fileURLToPath(new URL('./noise-worker.ts', import.meta.url));

/** Spawns `bench/noise-worker.ts` for `args`; its per-second samples go to `onSamples`, its CPU and probe totals to `onUsage`. */
export function spawnNoiseWorker(args: WorkerArgs, onSamples: (s: NoiseSample[]) => void, onUsage: (u: Usage) => void = () => {}): NoiseWorker {
  const child = spawn(process.execPath, ['--import', 'tsx', WORKER, JSON.stringify(args)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const ready = new Promise<{ url?: string; port?: number }>((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      let parsed;
      try {
        parsed = WorkerMessageSchema.safeParse(JSON.parse(line));
      } catch {
        return; // Not ours: a library printing to stdout.
      }
      if (!parsed.success) return;
      const m = parsed.data;
      if (m.type === 'ready') resolve({ url: m.url, port: m.port });
      else if (m.type === 'samples') onSamples(m.samples);
      else if (m.type === 'usage') onUsage({ at: m.at, cpuUs: m.cpu_us, probes: m.probes });
      else reject(new Error(`${args.mode} worker: ${m.message}`));
    });
    void exited.then(() => reject(new Error(`${args.mode} worker exited with ${child.exitCode ?? child.signalCode}`)));
  });
  ready.catch(() => undefined); // The caller awaits it; an unawaited failure after stop must not crash the bench.
  return {
    ready,
    async stop(graceMs = 15_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.stdin.end('stop\n');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}
