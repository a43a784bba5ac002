import { describe, expect, it } from 'vitest';
import type { Db, InStatement } from '../../shared/db/client.js';
import { createMetricWriter } from '../../relay/metric-writer.js';

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
    state.down = false;
    await w.flush();
    expect(state.batches[0]!.map((s) => (s as { sql: string }).sql)).toEqual(['3', '4', '5']);
  });

  it('drops only a statement the database refuses, not the rest of the batch', async () => {
    const { db, state } = fakeDb();
    const logs: string[] = [];
    const w = createMetricWriter(db, (_l, msg) => logs.push(msg));
    state.badSql = 'bad';
    for (const s of ['ok1', 'bad', 'ok2']) w.enqueue({ stmt: stmt(s) });
    await w.flush();
    expect(state.batches.map((b) => (b[0] as { sql: string }).sql)).toEqual(['ok1', 'ok2']);
    expect(w.dropped).toBe(1);
    expect(logs).toContain('dropped a write the database refuses');
  });
});
