import type { Db, InStatement } from '../shared/db/client.js';
import { touchSurveySession } from '../shared/db/surveys.js';
import type { Logger } from './log.js';

/** A statement queued for the next batched write; `touch` names a session whose last_update_time it moves. */
export interface QueuedWrite {
  stmt: InStatement;
  touch?: { sessionId: string; at: number };
}

export interface MetricWriterOptions {
  /** Most writes buffered while the database is unreachable; beyond it the oldest are dropped, loudly. */
  maxBuffered?: number;
  /** Most statements in one batch. */
  maxBatch?: number;
  /** Retry delays grow from this to maxBackoffMs. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  now?: () => number;
}

export interface MetricWriter {
  enqueue(w: QueuedWrite): void;
  /** Writes everything queued in one transaction (called once per tick for all sessions); never throws. */
  flush(): Promise<void>;
  readonly buffered: number;
  readonly dropped: number;
  /** Batches written, for tests and the bench: one per tick whatever the session count. */
  readonly batches: number;
  /** Write attempts that failed because the database was unreachable or busy. */
  readonly failedAttempts: number;
  /** Keeps flushing until the queue is empty or `timeoutMs` passes (shutdown). */
  drain(timeoutMs: number): Promise<void>;
}

/**
 * Batches all sessions' writes of a tick into one database transaction, so
 * round-trips per second do not grow with the number of sessions. When the
 * database fails, writes stay queued (bounded) and are retried with backoff;
 * probing never waits for the database.
 */
export function createMetricWriter(db: Db, log: Logger, opts: MetricWriterOptions = {}): MetricWriter {
  const maxBuffered = opts.maxBuffered ?? 500_000;
  const maxBatch = opts.maxBatch ?? 5_000;
  const minBackoff = opts.minBackoffMs ?? 500;
  const maxBackoff = opts.maxBackoffMs ?? 15_000;
  const now = opts.now ?? Date.now;
  let queue: QueuedWrite[] = [];
  let inFlight: Promise<void> | null = null;
  let failures = 0;
  let retryAt = 0;
  let dropped = 0;
  let batches = 0;
  let failedAttempts = 0;

  const writeChunk = async (chunk: QueuedWrite[]) => {
    const touches = new Map<string, number>();
    for (const w of chunk) if (w.touch) touches.set(w.touch.sessionId, Math.max(touches.get(w.touch.sessionId) ?? 0, w.touch.at));
    const stmts = [...chunk.map((w) => w.stmt), ...[...touches].map(([id, at]) => touchSurveySession(id, at))];
    await db.batch(stmts, 'write');
    batches++;
  };

  const flushOnce = async () => {
    if (queue.length === 0 || now() < retryAt) return;
    const chunk = queue.slice(0, maxBatch);
    try {
      await writeChunk(chunk);
      queue = queue.slice(chunk.length);
      if (failures > 0) log('info', 'database writes resumed', { after_failures: failures, buffered: queue.length });
      failures = 0;
      retryAt = 0;
    } catch (e) {
      if (isStatementError(e)) {
        // One bad statement must not block every other write forever: write one by one and drop only the bad ones.
        queue = queue.slice(chunk.length);
        for (const w of chunk) {
          try {
            await writeChunk([w]);
          } catch (e2) {
            dropped++;
            log('error', 'dropped a write the database refuses', { error: String((e2 as Error).message ?? e2), sql: w.stmt });
          }
        }
        return;
      }
      failures++;
      failedAttempts++;
      const delay = Math.min(maxBackoff, minBackoff * 2 ** (failures - 1));
      retryAt = now() + delay;
      log(failures === 1 ? 'warn' : 'debug', 'database write failed; metrics kept in memory and retried', {
        error: String((e as Error).message ?? e),
        buffered: queue.length,
        retry_in_ms: delay,
      });
    }
  };

  const writer: MetricWriter = {
    enqueue(w) {
      queue.push(w);
      if (queue.length > maxBuffered) {
        const excess = queue.length - maxBuffered;
        queue.splice(0, excess);
        dropped += excess;
        log('error', 'metric buffer full while the database is unreachable: oldest writes dropped', { dropped: excess });
      }
    },
    flush() {
      if (!inFlight) inFlight = flushOnce().finally(() => (inFlight = null));
      return inFlight;
    },
    get buffered() {
      return queue.length;
    },
    get dropped() {
      return dropped;
    },
    get batches() {
      return batches;
    },
    get failedAttempts() {
      return failedAttempts;
    },
    async drain(timeoutMs) {
      const end = Date.now() + timeoutMs;
      while (queue.length > 0 && Date.now() < end) {
        retryAt = Math.min(retryAt, now());
        await writer.flush();
        if (queue.length > 0) await new Promise((r) => setTimeout(r, 100));
      }
    },
  };
  return writer;
}

/** A SQL error about a statement itself (retrying cannot help), as opposed to the database being unreachable or busy. */
function isStatementError(e: unknown): boolean {
  const code = String((e as { code?: unknown })?.code ?? '');
  return code.startsWith('SQLITE_') && !/^SQLITE_(BUSY|LOCKED|IOERR|FULL|CANTOPEN|PROTOCOL|NOMEM|INTERRUPT)/.test(code);
}
