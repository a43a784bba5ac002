import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '@libsql/client';
import { afterEach, describe, expect, it } from 'vitest';
import type { Db, InStatement } from '../../shared/db/client.js';
import { migrate } from '../../shared/db/migrate.js';
import { insertSurveySession } from '../../shared/db/surveys.js';
import { createMetricWriter } from '../../relay/metric-writer.js';
import { classifyWriteError, WriteTimeoutError } from '../../relay/write-error.js';
import type { LogLevel } from '../../relay/log.js';

/** A stand-in database whose batch() fails while `down` is set: a unit test of the writer's bookkeeping (the real outage test uses libSQL). */
function fakeDb() {
  const state = { down: false, badSql: null as string | null, batches: [] as InStatement[][] };
  const db = {
    batch: async (stmts: InStatement[]) => {
      if (state.down) throw Object.assign(new Error('fetch failed'), { code: 'ECONNREFUSED' });
      if (state.badSql && stmts.some((s) => (typeof s === 'string' ? s : s.sql) === state.badSql)) {
        throw Object.assign(new Error('no such table'), { code: 'SQLITE_ERROR' });
      }
      state.batches.push(stmts);
      return [];
    },
  } as unknown as Db;
  return { db, state };
}

const stmt = (sql: string): InStatement => ({ sql, args: [] });

/** What undici's fetch throws when the database server is unreachable. */
const fetchFailed = () => new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }) });

const SURVEY = 'survey-1';
/** A survey_metrics row as the relay writes it, with a row_key so a resent insert lands once. */
const metric = (i: number, extra: { delay?: unknown; timestamp?: unknown } = {}): InStatement => ({
  sql: `INSERT INTO survey_metrics (session_id, timestamp_ms, source, conn_id, direction, delay_p50_ms, created_at, row_key)
        VALUES (?, ?, 'server', 'conn-1', 'c2s', ?, ?, ?) ON CONFLICT(row_key) DO NOTHING`,
  args: [SURVEY, 'timestamp' in extra ? extra.timestamp : 1_000 + i, 'delay' in extra ? extra.delay : i / 10, 1_000 + i, `${SURVEY}:conn-1:server:${i}`] as never,
});

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A migrated libSQL database file in a temp dir, with the survey row the metrics belong to. */
async function realDb(): Promise<Db> {
  const dir = mkdtempSync(join(tmpdir(), 'netpoke-writer-'));
  const db = createClient({ url: `file:${join(dir, 'w.db')}` });
  cleanups.push(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });
  await migrate(db);
  await db.execute(insertSurveySession({ session_id: SURVEY, magic_key: 'k', user_login: null, now: 0 }));
  return db;
}

/** The real database behind a batch() the test can break or hold: `before` runs first and may throw or wait. */
function wrapped(db: Db, hooks: { before?: (call: number, stmts: InStatement[]) => Promise<void> | void; after?: (call: number) => Promise<void> | void }) {
  const calls: InStatement[][] = [];
  const proxy = new Proxy(db, {
    get(target, prop) {
      if (prop === 'batch') {
        return async (stmts: InStatement[], mode: 'write') => {
          const call = calls.push(stmts);
          await hooks.before?.(call, stmts);
          const out = await target.batch(stmts, mode);
          await hooks.after?.(call);
          return out;
        };
      }
      const v = Reflect.get(target, prop) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  return { db: proxy, calls };
}

async function rowKeys(db: Db): Promise<string[]> {
  const rs = await db.execute('SELECT row_key FROM survey_metrics ORDER BY id');
  return rs.rows.map((r) => String(r.row_key));
}
const keys = (...ids: number[]) => ids.map((i) => `${SURVEY}:conn-1:server:${i}`);
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

function logSink() {
  const lines: { level: LogLevel; msg: string; fields?: Record<string, unknown> }[] = [];
  return { lines, log: (level: LogLevel, msg: string, fields?: Record<string, unknown>) => void lines.push({ level, msg, fields }) };
}

describe('metric writer', () => {
  it('writes all queued statements of a tick in one batch, with one touch per session', async () => {
    const { db, state } = fakeDb();
    const w = createMetricWriter(db, () => {});
    w.enqueue({ stmt: stmt('a'), touch: { sessionId: 's1', at: 5 } });
    w.enqueue({ stmt: stmt('b'), touch: { sessionId: 's1', at: 7 } });
    w.enqueue({ stmt: stmt('c'), touch: { sessionId: 's2', at: 6 } });
    await w.flush();
    expect(state.batches).toHaveLength(1);
    const sqls = state.batches[0]!.map((s) => (typeof s === 'string' ? s : s.sql));
    expect(sqls.slice(0, 3)).toEqual(['a', 'b', 'c']);
    expect(state.batches[0]!.slice(3).map((s) => (s as { args: unknown[] }).args)).toEqual([
      [7, 's1'],
      [6, 's2'],
    ]);
    expect(w.buffered).toBe(0);
    expect(w.counters().written).toBe(3);
  });

  it('keeps writes while the database is down, backs off, and flushes them in order when it returns', async () => {
    const { db, state } = fakeDb();
    let clock = 0;
    const w = createMetricWriter(db, () => {}, { now: () => clock, minBackoffMs: 1000, maxBackoffMs: 4000 });
    state.down = true;
    w.enqueue({ stmt: stmt('1') });
    await w.flush();
    expect(w.failedAttempts).toBe(1);
    w.enqueue({ stmt: stmt('2') });
    await w.flush(); // within backoff: not attempted
    expect(w.failedAttempts).toBe(1);
    clock = 1000;
    await w.flush();
    expect(w.failedAttempts).toBe(2);
    clock = 2999; // second backoff is 2000 ms
    await w.flush();
    expect(w.failedAttempts).toBe(2);
    state.down = false;
    clock = 3000;
    await w.flush();
    expect(state.batches.map((b) => b.map((s) => (s as { sql: string }).sql))).toEqual([['1', '2']]);
    expect(w.buffered).toBe(0);
    expect(w.dropped).toBe(0);
  });

  it('bounds the buffer, dropping the oldest and counting them', async () => {
    const { db, state } = fakeDb();
    const w = createMetricWriter(db, () => {}, { maxBuffered: 3 });
    state.down = true;
    for (const s of ['1', '2', '3', '4', '5']) w.enqueue({ stmt: stmt(s) });
    expect(w.buffered).toBe(3);
    expect(w.dropped).toBe(2);
    expect(w.counters().dropped).toEqual({ overflow: 2, refused: 0, shutdown: 0 });
    state.down = false;
    await w.flush();
    expect(state.batches[0]!.map((s) => (s as { sql: string }).sql)).toEqual(['3', '4', '5']);
  });

  it('drops only a statement the database refuses, not the rest of the batch', async () => {
    const { db, state } = fakeDb();
    const { lines, log } = logSink();
    const w = createMetricWriter(db, log);
    state.badSql = 'bad';
    for (const s of ['ok1', 'bad', 'ok2']) w.enqueue({ stmt: stmt(s) });
    await w.flush();
    expect(state.batches.map((b) => (b[0] as { sql: string }).sql)).toEqual(['ok1', 'ok2']);
    expect(w.counters().dropped).toEqual({ overflow: 0, refused: 1, shutdown: 0 });
    expect(lines.filter((l) => l.level === 'error')).toMatchObject([{ fields: { reason: 'refused', kind: 'SQLITE_ERROR', sql: 'bad' } }]);
  });

  it('tells transport failures from statement failures', () => {
    const coded = (code: string) => Object.assign(new Error(code), { code });
    expect(classifyWriteError(fetchFailed())).toBe('transport');
    expect(classifyWriteError(coded('SQLITE_BUSY'))).toBe('transport');
    expect(classifyWriteError(coded('SQLITE_IOERR_WRITE'))).toBe('transport');
    expect(classifyWriteError(coded('HRANA_WEBSOCKET_ERROR'))).toBe('transport');
    expect(classifyWriteError(coded('SERVER_ERROR'))).toBe('transport');
    expect(classifyWriteError(new WriteTimeoutError('slow'))).toBe('transport');
    expect(classifyWriteError(coded('SQLITE_CONSTRAINT_NOTNULL'))).toBe('statement');
    expect(classifyWriteError(coded('SQLITE_ERROR'))).toBe('statement');
    expect(classifyWriteError(coded('SQL_PARSE_ERROR'))).toBe('statement');
    expect(classifyWriteError(new RangeError('Only finite numbers (not Infinity or NaN) can be passed as arguments'))).toBe('statement');
    expect(classifyWriteError(new TypeError('undefined cannot be passed as argument to the database'))).toBe('statement');
    expect(classifyWriteError(new Error('SQLite3 can only bind numbers, strings, bigints, buffers, and null'))).toBe('unknown');
  });
});

describe('metric writer on a real libSQL database', () => {
  it('drops a poison row (Infinity the client cannot encode) and counts it, while the rows before and after it land', async () => {
    const db = await realDb();
    const { lines, log } = logSink();
    const w = createMetricWriter(db, log);
    for (const i of range(0, 10)) w.enqueue({ stmt: metric(i), touch: { sessionId: SURVEY, at: 1_000 + i } });
    // Rejected at enqueue: never queued, counted.
    expect(w.enqueue({ stmt: metric(100, { delay: 1.7e308 * 10 }) })).toBe(false);
    // Past the enqueue check (mutated afterwards), so the client's own RangeError is what the writer sees.
    const poison = metric(10);
    expect(w.enqueue({ stmt: poison, touch: { sessionId: SURVEY, at: 9_999 } })).toBe(true);
    (poison as { args: unknown[] }).args[2] = Infinity;
    for (const i of range(11, 20)) w.enqueue({ stmt: metric(i), touch: { sessionId: SURVEY, at: 1_000 + i } });
    w.enqueue({ stmt: metric(20, { timestamp: null }) }); // NOT NULL: the database refuses it (SQLITE_CONSTRAINT)
    w.enqueue({ stmt: metric(21, { delay: { not: 'bindable' } }) }); // a plain Error from the driver: confirmed bad once the database answers
    for (const i of range(22, 30)) w.enqueue({ stmt: metric(i), touch: { sessionId: SURVEY, at: 1_000 + i } });
    await w.flush();

    expect(await rowKeys(db)).toEqual(keys(...range(0, 10), ...range(11, 20), ...range(22, 30)));
    expect(w.counters()).toMatchObject({ buffered: 0, written: 27, dropped: { overflow: 0, refused: 4, shutdown: 0 }, failedAttempts: 0 });
    // The poison row's touch went with it: last_update_time is the newest written row's.
    const s = await db.execute({ sql: 'SELECT last_update_time FROM survey_sessions WHERE session_id = ?', args: [SURVEY] });
    expect(Number(s.rows[0]!.last_update_time)).toBe(1_029);
    // One line per kind, each naming it.
    const kinds = lines.filter((l) => l.level === 'error').map((l) => l.fields?.kind);
    expect(kinds.sort()).toEqual(['Error', 'RangeError', 'SQLITE_CONSTRAINT_NOTNULL', 'non-finite number'].sort());
  });

  it('keeps every row through transport failures and retries until they land, in order', async () => {
    const real = await realDb();
    let down = true;
    const { db, calls } = wrapped(real, {
      before: () => {
        if (down) throw fetchFailed();
      },
    });
    let clock = 0;
    const w = createMetricWriter(db, () => {}, { now: () => clock, minBackoffMs: 100 });
    for (const i of range(0, 5)) w.enqueue({ stmt: metric(i) });
    await w.flush();
    clock += 100;
    for (const i of range(5, 8)) w.enqueue({ stmt: metric(i) });
    await w.flush();
    clock += 200;
    await w.flush();
    expect(w.counters()).toMatchObject({ buffered: 8, written: 0, failedAttempts: 3, dropped: { overflow: 0, refused: 0, shutdown: 0 } });
    expect(await rowKeys(real)).toEqual([]);
    down = false;
    clock += 400;
    await w.flush();
    expect(await rowKeys(real)).toEqual(keys(...range(0, 8)));
    expect(w.counters()).toMatchObject({ buffered: 0, written: 8, failedAttempts: 3, dropped: { overflow: 0, refused: 0, shutdown: 0 } });
    expect(calls).toHaveLength(4);
  });

  it('drops only unwritten rows when the buffer overflows during a flush, and counts them exactly', async () => {
    const real = await realDb();
    let open: () => void = () => {};
    const gate = new Promise<void>((r) => (open = r));
    const { db } = wrapped(real, { before: (call) => (call === 1 ? gate : undefined) });
    const w = createMetricWriter(db, () => {}, { maxBuffered: 10, maxBatch: 4 });
    for (const i of range(0, 6)) w.enqueue({ stmt: metric(i) });
    const flushing = w.flush(); // rows 0-3 in flight, held at the gate
    for (const i of range(6, 16)) w.enqueue({ stmt: metric(i) });
    // Rows 0-3 are in flight and never dropped; 4-9 were the oldest unsent.
    expect(w.counters()).toMatchObject({ buffered: 10, dropped: { overflow: 6, refused: 0, shutdown: 0 } });
    open();
    await flushing;
    await w.flush();
    expect(await rowKeys(real)).toEqual(keys(0, 1, 2, 3, ...range(10, 16)));
    const c = w.counters();
    expect(c).toMatchObject({ buffered: 0, written: 10, dropped: { overflow: 6, refused: 0, shutdown: 0 } });
    expect(c.written + c.dropped.overflow).toBe(16);
  });

  it('drains at shutdown within its bound and returns exactly how many rows were lost', async () => {
    const real = await realDb();
    let down = false;
    const { db } = wrapped(real, {
      before: () => {
        if (down) throw fetchFailed();
      },
      after: () => {
        down = true; // the database goes away after the first batch
      },
    });
    const { lines, log } = logSink();
    const w = createMetricWriter(db, log, { maxBatch: 5 });
    for (const i of range(0, 12)) w.enqueue({ stmt: metric(i) });
    const started = Date.now();
    const lost = await w.drain(400);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(lost).toBe(7);
    expect(await rowKeys(real)).toEqual(keys(...range(0, 5)));
    expect(w.counters()).toMatchObject({ buffered: 0, written: 5, dropped: { overflow: 0, refused: 0, shutdown: 7 } });
    expect(lines.filter((l) => l.msg.includes('not written'))).toMatchObject([{ level: 'error', fields: { lost: 7 } }]);
    // Nothing is queued after the final flush; what arrives is counted.
    expect(w.enqueue({ stmt: metric(99) })).toBe(false);
    expect(w.counters().dropped.shutdown).toBe(8);
  });

  it('counts a write still unanswered at the drain deadline as lost, and a clean drain as none', async () => {
    const real = await realDb();
    const { db } = wrapped(real, { before: () => new Promise<void>(() => {}) }); // never answers
    const w = createMetricWriter(db, () => {});
    for (const i of range(0, 3)) w.enqueue({ stmt: metric(i) });
    expect(await w.drain(200)).toBe(3);

    const ok = createMetricWriter(real, () => {});
    for (const i of range(10, 13)) ok.enqueue({ stmt: metric(i) });
    expect(await ok.drain(2_000)).toBe(0);
    expect(await rowKeys(real)).toEqual(keys(10, 11, 12));
  });

  it('logs a flood of 100k refused rows in a few lines, counting every one', async () => {
    const db = await realDb();
    const { lines, log } = logSink();
    const w = createMetricWriter(db, log);
    for (let i = 0; i < 100_000; i++) w.enqueue({ stmt: metric(i, { delay: Infinity }) });
    // And some the database itself refuses, between good ones.
    for (let i = 0; i < 1_000; i++) w.enqueue({ stmt: metric(200_000 + i, { timestamp: i % 2 === 0 ? null : 5 }) });
    await w.flush();
    expect(w.counters()).toMatchObject({ buffered: 0, written: 500, dropped: { overflow: 0, refused: 100_500, shutdown: 0 } });
    expect(lines.length).toBeLessThanOrEqual(4);
    // The rest show up in the next summary (one line), once its interval has passed.
    const { lines: l2, log: log2 } = logSink();
    let clock = 0;
    const w2 = createMetricWriter(db, log2, { now: () => clock, logEveryMs: 10_000 });
    for (let i = 0; i < 100_000; i++) w2.enqueue({ stmt: metric(i, { delay: NaN }) });
    clock = 10_000;
    await w2.flush();
    expect(l2.map((l) => l.msg)).toEqual(['metric row dropped; further drops of this kind are counted in a summary', 'metric rows dropped since the last summary']);
    expect(l2[1]!.fields?.dropped).toEqual({ 'refused: non-finite number': 99_999 });
  });

  it('does not duplicate rows when a batch that committed is retried (answer lost, or too slow)', async () => {
    const real = await realDb();
    // The first batch commits, then its answer is lost.
    const lostAnswer = wrapped(real, {
      after: (call) => {
        if (call === 1) throw fetchFailed();
      },
    });
    const w = createMetricWriter(lostAnswer.db, () => {}, { minBackoffMs: 0 });
    for (const i of range(0, 5)) w.enqueue({ stmt: metric(i), touch: { sessionId: SURVEY, at: 1_000 + i } });
    await w.flush();
    expect(w.counters()).toMatchObject({ buffered: 5, written: 0, failedAttempts: 1 });
    w.enqueue({ stmt: metric(5) });
    await w.flush();
    // The retry resent exactly the same rows (their row_keys), topped up with the newer one.
    const sent = lostAnswer.calls.map((b) => b.filter((s) => typeof s !== 'string' && s.sql.includes('survey_metrics')).map((s) => (s as { args: unknown[] }).args[4]));
    expect(sent).toEqual([keys(0, 1, 2, 3, 4), keys(0, 1, 2, 3, 4, 5)]);
    expect(await rowKeys(real)).toEqual(keys(0, 1, 2, 3, 4, 5));
    expect(w.counters()).toMatchObject({ buffered: 0, written: 6, dropped: { overflow: 0, refused: 0, shutdown: 0 } });

    // A batch that lands after the writer's timeout: retried, still once.
    const slow = wrapped(real, { after: (call) => (call === 1 ? new Promise((r) => setTimeout(r, 300)) : undefined) });
    const w2 = createMetricWriter(slow.db, () => {}, { minBackoffMs: 0, writeTimeoutMs: 100 });
    for (const i of range(6, 9)) w2.enqueue({ stmt: metric(i) });
    await w2.flush();
    expect(w2.failedAttempts).toBe(1);
    await w2.flush();
    expect(await rowKeys(real)).toEqual(keys(...range(0, 9)));
    expect(w2.counters()).toMatchObject({ buffered: 0, written: 3 });
  });
});
