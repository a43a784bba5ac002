// Hands finished capture files to the edge's object store, and drops the local copy once the store has it;
// a failed hand-off is retried with backoff for as long as the relay runs, and again after a restart.
import { rm } from 'node:fs/promises';
import { signCaptureToken } from '../../shared/capture-token.js';
import type { Secrets } from '../../shared/secret-keys.js';
import type { Logger } from '../log.js';
import { readHashed } from './read-hashed.js';

export interface CaptureFile {
  session_id: string;
  conn_id: string;
  peer_id: string;
  path: string;
}

export interface CaptureHandoff {
  /** Queues a written capture file for the store. */
  add(file: CaptureFile): void;
  /** Files not yet in the store (queued, sending, or waiting to retry). */
  readonly pending: number;
  /** Resolves when nothing is pending (tests, shutdown); false if `timeoutMs` passed first. */
  idle(timeoutMs: number): Promise<boolean>;
  stop(): void;
}

export interface HandoffOptions {
  edgeUrl: string;
  relayId: string;
  secrets: Secrets;
  log: Logger;
  /** First retry delay, doubled after each failure up to maxRetryMs. */
  retryMs?: number;
  maxRetryMs?: number;
}

/** Answers that retrying cannot change: the file is kept locally and the operator told. */
const PERMANENT = new Set([400, 403, 404, 413, 422]);
const ALREADY_STORED = 409;

/** A capture hand-off to `edgeUrl`'s `PUT /internal/captures/...`. */
export function createCaptureHandoff(opts: HandoffOptions): CaptureHandoff {
  const retryMs = opts.retryMs ?? 1_000;
  const maxRetryMs = opts.maxRetryMs ?? 60_000;
  const pending = new Map<string, { file: CaptureFile; delay: number; timer: ReturnType<typeof setTimeout> | null }>();
  const waiters = new Set<() => void>();
  let stopped = false;

  const settle = (path: string) => {
    pending.delete(path);
    if (pending.size === 0) for (const w of [...waiters]) w();
  };

  const attempt = async (path: string): Promise<void> => {
    const entry = pending.get(path);
    if (!entry || stopped) return;
    entry.timer = null;
    const f = entry.file;
    let outcome: 'stored' | 'permanent' | 'retry';
    let why = '';
    try {
      // Read and hashed piece by piece: a whole file hashed at once would stall the probe timers (read-hashed.ts).
      const { pieces, bytes, sha256 } = await readHashed(f.path);
      const token = await signCaptureToken({ relay_id: opts.relayId, session_id: f.session_id, conn_id: f.conn_id, peer_id: f.peer_id, sha256, bytes }, opts.secrets);
      const url = `${opts.edgeUrl.replace(/\/+$/, '')}/internal/captures/${[f.session_id, f.conn_id, f.peer_id].map(encodeURIComponent).join('/')}`;
      const resp = await fetch(url, { method: 'PUT', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' }, body: new Blob(pieces), signal: AbortSignal.timeout(120_000) });
      why = resp.ok ? '' : `HTTP ${resp.status} ${(await resp.text()).slice(0, 300)}`;
      if (resp.ok) await resp.body?.cancel();
      // 409: the store holds this capture already (an earlier attempt whose answer was lost); it takes one file per peer.
      outcome = resp.ok || resp.status === ALREADY_STORED ? 'stored' : PERMANENT.has(resp.status) ? 'permanent' : 'retry';
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      // A file that is gone cannot be sent, however often we try.
      outcome = err.code === 'ENOENT' ? 'permanent' : 'retry';
      why = err.message ?? String(e);
    }
    if (outcome === 'stored') {
      await rm(f.path, { force: true }).catch((e: Error) => opts.log('warn', 'capture stored, but its local copy could not be removed', { path: f.path, error: e.message }));
      opts.log('info', 'capture handed to the store', { survey: f.session_id, conn_id: f.conn_id });
      settle(path);
    } else if (outcome === 'permanent') {
      opts.log('error', 'the store refused a capture; it stays on this relay', { path: f.path, why });
      settle(path);
    } else if (!stopped) {
      opts.log('warn', 'capture hand-off failed; retrying', { path: f.path, in_ms: entry.delay, why });
      entry.timer = setTimeout(() => void attempt(path), entry.delay);
      entry.timer.unref?.();
      entry.delay = Math.min(maxRetryMs, entry.delay * 2);
    }
  };

  return {
    add(file) {
      if (stopped || pending.has(file.path)) return;
      pending.set(file.path, { file, delay: retryMs, timer: null });
      void attempt(file.path);
    },
    get pending() {
      return pending.size;
    },
    idle(timeoutMs) {
      if (pending.size === 0) return Promise.resolve(true);
      return new Promise((resolve) => {
        const done = () => {
          clearTimeout(timer);
          waiters.delete(done);
          resolve(true);
        };
        const timer = setTimeout(() => {
          waiters.delete(done);
          resolve(false);
        }, timeoutMs);
        waiters.add(done);
      });
    },
    stop() {
      stopped = true;
      for (const e of pending.values()) if (e.timer) clearTimeout(e.timer);
    },
  };
}
