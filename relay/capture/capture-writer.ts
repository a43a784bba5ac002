import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { WriteJob, WriteResult } from './pcapng-worker.js';

/** Writes pcapng files in one worker thread, started on first use; the relay's event loop only hands over buffers. */
export interface CaptureWriter {
  /** Writes one file; resolves with its size, rejects with why it could not be written. */
  write(job: Omit<WriteJob, 'id'>): Promise<{ records: number; bytes: number }>;
  /** Files being written now. */
  readonly pending: number;
  /** Waits up to `timeoutMs` for files being written, then stops the thread. */
  close(timeoutMs?: number): Promise<void>;
}

/** A capture writer (the worker thread starts with the first file). */
export function createCaptureWriter(): CaptureWriter {
  let worker: Worker | null = null;
  let nextId = 1;
  const waiting = new Map<number, { resolve: (r: { records: number; bytes: number }) => void; reject: (e: Error) => void }>();
  let idle: (() => void) | null = null;

  const failAll = (why: string) => {
    worker = null;
    for (const w of waiting.values()) w.reject(new Error(why));
    waiting.clear();
    idle?.();
  };
  const start = (): Worker => {
    const w = spawnWorker();
    // The worker must not keep the process alive on its own; pending files hold it via ref() below.
    w.unref();
    w.on('message', (r: WriteResult) => {
      const p = waiting.get(r.id);
      if (!p) return;
      waiting.delete(r.id);
      if (r.ok) p.resolve({ records: r.records, bytes: r.bytes });
      else p.reject(new Error(r.error));
      if (waiting.size === 0) {
        w.unref();
        idle?.();
      }
    });
    w.on('error', (e) => failAll(`capture worker failed: ${e.message}`));
    w.on('exit', (code) => failAll(`capture worker exited (${code})`));
    return w;
  };

  return {
    write(job) {
      worker ??= start();
      const id = nextId++;
      const transfer = job.chunks.map((c) => c.bytes.buffer as ArrayBuffer);
      const done = new Promise<{ records: number; bytes: number }>((resolve, reject) => waiting.set(id, { resolve, reject }));
      worker.ref();
      worker.postMessage({ ...job, id } satisfies WriteJob, transfer);
      return done;
    },
    get pending() {
      return waiting.size;
    },
    async close(timeoutMs = 5_000) {
      if (!worker) return;
      if (waiting.size > 0) {
        let timer: ReturnType<typeof setTimeout> | undefined;
        await new Promise<void>((resolve) => {
          idle = resolve;
          timer = setTimeout(resolve, timeoutMs);
        });
        clearTimeout(timer);
        idle = null;
      }
      const w = worker;
      worker = null;
      w?.removeAllListeners('exit');
      await w?.terminate();
      failAll('capture writer closed');
    },
  };
}

/**
 * The worker runs pcapng-worker in this module's form. From TypeScript sources (tsx, vitest) it is
 * loaded through tsx's API: Node 20 workers do not inherit the parent's module loader.
 */
function spawnWorker(): Worker {
  const ts = import.meta.url.endsWith('.ts');
  const entry = new URL(`./pcapng-worker.${ts ? 'ts' : 'js'}`, import.meta.url);
  if (!ts) return new Worker(entry);
  const tsxDir = dirname(createRequire(import.meta.url).resolve('tsx/package.json'));
  const api = pathToFileURL(join(tsxDir, 'dist/esm/api/index.mjs')).href;
  const boot = `import(${JSON.stringify(api)}).then((m) => m.tsImport(${JSON.stringify(entry.href)}, ${JSON.stringify(import.meta.url)}))`;
  return new Worker(boot, { eval: true });
}
