import { performance } from 'node:perf_hooks';
import type { Db, InStatement } from '../shared/db/client.js';
import { touchSurveySession } from '../shared/db/surveys.js';
import { createFifo } from './fifo.js';
import type { Logger } from './log.js';
import { classifyWriteError, errorKind, WriteTimeoutError } from './write-error.js';

/** A statement queued for the next batched write; `touch` names a session whose last_update_time it moves. */
export interface QueuedWrite {
  stmt: InStatement;
  touch?: { sessionId: string; at: number };
}

export interface MetricWriterOptions {
  /** Most writes buffered (in flight included) while the database is unreachable; beyond it the oldest unsent are dropped. */
  maxBuffered?: number;
  /** Most statements in one batch. */
  maxBatch?: number;
  /** Retry delays grow from this to maxBackoffMs. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** A write attempt not answered within this is a transport failure (its rows are retried; row_key keeps them single). */
  writeTimeoutMs?: number;
  /** At most one summary line of drops per this interval. */
  logEveryMs?: number;
  now?: () => number;
}

/** Why rows were never written. */
export type DropReason = 'overflow' | 'refused' | 'shutdown';

/** The writer's counters, as plain data for a metrics endpoint. */
export interface MetricWriterCounters {
  /** Rows waiting or in flight. */
  buffered: number;
  /** Rows the database confirmed. */
  written: number;
  /** Rows never written: `overflow` (buffer full), `refused` (invalid, or the database refuses the statement), `shutdown` (left at drain). */
  dropped: Record<DropReason, number>;
  /** Write attempts that failed because the database was unreachable, busy or slow. */
  failedAttempts: number;
  /** Batches the database confirmed. */
  batches: number;
  /** How long the last flush that had rows to write took, start to end (retries and halving included); null before the first. */
  lastFlushMs: number | null;
}

export interface MetricWriter {
  /** Queues a write; false (and counted as dropped) if it is invalid or the writer has been drained. Never blocks. */
  enqueue(w: QueuedWrite): boolean;
  /** Writes what is queued in batched transactions (called once per tick for all sessions); never throws. */
  flush(): Promise<void>;
  readonly buffered: number;
  /** All rows never written, whatever the reason. */
  readonly dropped: number;
  /** Batches written, for tests and the bench: one per tick whatever the session count. */
  readonly batches: number;
  /** Write attempts that failed because the database was unreachable or busy. */
  readonly failedAttempts: number;
  counters(): MetricWriterCounters;
  /**
   * Final flush at shutdown: keeps writing until the queue is empty or `timeoutMs` passes, then gives up on the rest.
   * Returns (and logs) how many rows were not confirmed written; later enqueues are dropped.
   */
  drain(timeoutMs: number): Promise<number>;
}

/**
 * Batches all sessions' writes of a tick into one database transaction, so
 * round-trips per second do not grow with the number of sessions. When the
 * database is unreachable, writes stay queued (bounded) and the same batch is
 * retried with backoff; a statement the database refuses is narrowed down by
 * halving the batch and only that row is dropped, so a bad row never holds up
 * the others. Probing never waits for the database, and nothing is lost
 * without being counted.
 */
export function createMetricWriter(db: Db, log: Logger, opts: MetricWriterOptions = {}): MetricWriter {
  const maxBuffered = opts.maxBuffered ?? 500_000;
  const maxBatch = opts.maxBatch ?? 5_000;
  const minBackoff = opts.minBackoffMs ?? 500;
  const maxBackoff = opts.maxBackoffMs ?? 15_000;
  const writeTimeout = opts.writeTimeoutMs ?? 10_000;
  const now = opts.now ?? Date.now;
  const report = createDropReport(log, opts.logEveryMs ?? 10_000, now, () => writer.buffered);
  // Rows not yet taken for a write: the only ones an overflow may drop.
  const queue = createFifo<QueuedWrite>();
  // Rows taken for the current batch, oldest first; they leave only once written or refused, so a retry resends exactly them.
  let inFlight: QueuedWrite[] = [];
  let flushing: Promise<void> | null = null;
  let drained = false;
  let failures = 0;
  let retryAt = 0;
  const counts: MetricWriterCounters = { buffered: 0, written: 0, dropped: { overflow: 0, refused: 0, shutdown: 0 }, failedAttempts: 0, batches: 0, lastFlushMs: null };

  const attempt = async (rows: QueuedWrite[]): Promise<unknown> => {
    const touches = new Map<string, number>();
    for (const w of rows) if (w.touch) touches.set(w.touch.sessionId, Math.max(touches.get(w.touch.sessionId) ?? -Infinity, w.touch.at));
    const stmts = [...rows.map((w) => w.stmt), ...[...touches].map(([id, at]) => touchSurveySession(id, at))];
    const timedOut = new WriteTimeoutError(`no answer in ${writeTimeout} ms`);
    try {
      // A write that times out may still land (row_key keeps its retry from doubling it) or fail later, unobserved.
      return await withDeadline(db.batch(stmts, 'write').then(() => null), writeTimeout, timedOut);
    } catch (e) {
      return e ?? new Error('write failed');
    }
  };

  const onTransportFailure = (e: unknown) => {
    failures++;
    counts.failedAttempts++;
    const delay = Math.min(maxBackoff, minBackoff * 2 ** (failures - 1));
    retryAt = now() + delay;
    log(failures === 1 ? 'warn' : 'debug', 'database write failed; metrics kept in memory and retried', {
      error: String((e as Error).message ?? e),
      buffered: writer.buffered,
      retry_in_ms: delay,
    });
  };

  /** Is the database answering at all? Decides whether a lone row's unclassified error is the row's fault. */
  const databaseAnswers = () => withDeadline(db.execute('SELECT 1').then(() => true, () => false), writeTimeout, false);

  /**
   * Writes the first `n` rows of inFlight, halving on a refused statement until the bad row is alone, then dropping it.
   * False on a transport failure: what is unwritten stays at the front of inFlight for the retry.
   */
  const settle = async (n: number): Promise<boolean> => {
    const rows = inFlight.slice(0, n);
    const err = await attempt(rows);
    if (drained) return false; // drain already counted these as lost
    if (err === null) {
      inFlight.splice(0, n);
      counts.written += n;
      counts.batches++;
      if (failures > 0) log('info', 'database writes resumed', { after_failures: failures, buffered: writer.buffered });
      failures = 0;
      retryAt = 0;
      return true;
    }
    const kind = classifyWriteError(err);
    if (kind === 'transport') {
      onTransportFailure(err);
      return false;
    }
    if (n > 1) {
      const half = Math.ceil(n / 2);
      return (await settle(half)) && (await settle(n - half));
    }
    if (kind === 'unknown' && !(await databaseAnswers())) {
      onTransportFailure(err);
      return false;
    }
    if (drained) return false;
    inFlight.splice(0, 1);
    counts.dropped.refused++;
    report.drop('refused', errorKind(err), rows[0]!.stmt, err);
    return true;
  };

  const flushOnce = async () => {
    if (drained || now() < retryAt) return;
    // Enough batches for what is queued now; rows arriving meanwhile wait for the next tick.
    let batches = Math.ceil((inFlight.length + queue.length) / maxBatch);
    if (batches === 0) return report.summarize();
    const started = performance.now();
    while (batches-- > 0) {
      // A retried batch resends its rows as they were and takes newer ones up to maxBatch, in one round-trip.
      if (inFlight.length < maxBatch) inFlight.push(...queue.take(maxBatch - inFlight.length));
      if (inFlight.length === 0 || !(await settle(inFlight.length))) break;
    }
    counts.lastFlushMs = Math.round((performance.now() - started) * 10) / 10;
    report.summarize();
  };

  const writer: MetricWriter = {
    enqueue(w) {
      if (drained) {
        counts.dropped.shutdown++;
        report.drop('shutdown', 'after drain', w.stmt);
        return false;
      }
      const bad = invalidArgument(w);
      if (bad) {
        counts.dropped.refused++;
        report.drop('refused', bad, w.stmt);
        return false;
      }
      if (queue.length + inFlight.length >= maxBuffered) {
        counts.dropped.overflow++;
        // The oldest unsent row makes room; if every buffered row is in flight, the new one cannot be kept.
        const oldest = queue.shift() ?? w;
        report.drop('overflow', 'buffer full', oldest.stmt);
        if (oldest === w) return false;
      }
      queue.push(w);
      return true;
    },
    flush() {
      if (!flushing) {
        flushing = flushOnce()
          .catch((e: unknown) => log('error', 'metric flush failed unexpectedly', { error: String(e) }))
          .finally(() => (flushing = null));
      }
      return flushing;
    },
    get buffered() {
      return queue.length + inFlight.length;
    },
    get dropped() {
      return counts.dropped.overflow + counts.dropped.refused + counts.dropped.shutdown;
    },
    get batches() {
      return counts.batches;
    },
    get failedAttempts() {
      return counts.failedAttempts;
    },
    counters() {
      return { ...counts, buffered: writer.buffered, dropped: { ...counts.dropped } };
    },
    async drain(timeoutMs) {
      const end = Date.now() + timeoutMs;
      while (writer.buffered > 0 && Date.now() < end) {
        retryAt = 0;
        await withDeadline(writer.flush(), end - Date.now(), undefined);
        if (writer.buffered > 0) await new Promise((r) => setTimeout(r, Math.max(0, Math.min(100, end - Date.now()))));
      }
      // Rows of an attempt still unanswered at the deadline count as lost: nobody will learn whether they landed.
      const lost = writer.buffered;
      drained = true;
      queue.clear();
      inFlight = [];
      counts.dropped.shutdown += lost;
      report.summarize(true);
      if (lost > 0) log('error', 'relay shutdown: metric rows not written', { lost, timeout_ms: timeoutMs });
      else log('info', 'relay shutdown: every metric row written', { written: counts.written });
      return lost;
    },
  };
  return writer;
}

/** Why a write cannot be sent, checked at enqueue (cheap): libSQL rejects non-finite numbers and undefined. */
function invalidArgument(w: QueuedWrite): string | null {
  if (w.touch && !Number.isFinite(w.touch.at)) return 'non-finite number';
  const args = typeof w.stmt === 'string' ? undefined : w.stmt.args;
  if (!args) return null;
  for (const v of Array.isArray(args) ? args : Object.values(args)) {
    if (typeof v === 'number' && !Number.isFinite(v)) return 'non-finite number';
    if (v === undefined) return 'undefined argument';
  }
  return null;
}

/**
 * Counts dropped rows by reason and kind and logs them without a line per row:
 * the first drop of each kind at once (with its SQL), then one summary line per interval at most.
 */
function createDropReport(log: Logger, everyMs: number, now: () => number, buffered: () => number) {
  const seen = new Set<string>();
  let pending = new Map<string, number>();
  let lastSummary = now();
  const summarize = (force = false) => {
    if (pending.size === 0 || (!force && now() - lastSummary < everyMs)) return;
    const dropped = Object.fromEntries(pending);
    pending = new Map();
    lastSummary = now();
    log('warn', 'metric rows dropped since the last summary', { dropped, buffered: buffered() });
  };
  return {
    drop(reason: DropReason, kind: string, stmt: InStatement, err?: unknown) {
      const key = `${reason}: ${kind}`;
      if (!seen.has(key) && seen.size < 32) {
        seen.add(key);
        const sql = (typeof stmt === 'string' ? stmt : stmt.sql).replace(/\s+/g, ' ').slice(0, 200);
        log('error', 'metric row dropped; further drops of this kind are counted in a summary', {
          reason,
          kind,
          sql,
          ...(err !== undefined ? { error: String((err as Error).message ?? err).slice(0, 300) } : {}),
        });
        return;
      }
      pending.set(key, (pending.get(key) ?? 0) + 1);
      summarize();
    },
    /** Logs the summary if one is due (or `force`d, e.g. at shutdown). */
    summarize,
  };
}

/** `p`, or `onTimeout` after `ms` (a rejection if it is an Error), without leaving a timer behind. */
async function withDeadline<T>(p: Promise<T>, ms: number, onTimeout: T | Error): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<T>((resolve, reject) => {
    timer = setTimeout(() => (onTimeout instanceof Error ? reject(onTimeout) : resolve(onTimeout)), Math.max(0, ms));
  });
  try {
    return await Promise.race([p, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
