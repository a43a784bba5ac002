// The survey summaries computed in SQL (shared/db/survey-summary-sql.ts) against the reference definition over every
// row (summarizeConnections): equal, figure for figure, on crafted seconds and on a seeded survey, in real libSQL.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMagicKey } from '../../shared/db/keys.js';
import { summarizeConnections } from '../../shared/db/survey-summary.js';
import { surveyConnectionSummaries, surveySummariesFrom, surveySummarySketches, surveySummaryStatements } from '../../shared/db/survey-summary-sql.js';
import { startTestDb, type TestDb } from '../helpers/system.js';
import { seedManyMetricRows } from '../helpers/big-export.js';
import { insertMetric } from '../../shared/db/surveys.js';
import { SKETCH_PAGE_ROWS } from '../../shared/db/survey-sketches.js';
import type { DirectionStats } from '../../shared/stats/index.js';
import { rttSecond, withoutSketches } from '../helpers/rtt-second.js';
import type { Db } from '../../shared/db/client.js';

let db: TestDb;
let magicKey: string;

beforeAll(async () => {
  db = await startTestDb();
  magicKey = (await createMagicKey(db.db, { label: 'summary sql' })).key;
}, 60_000);

afterAll(async () => {
  await db?.close();
});

/** Every row of a survey as the reference read them: oldest first. */
async function referenceSummaries(surveyId: string) {
  const rs = await db.db.execute({ sql: 'SELECT * FROM survey_metrics WHERE session_id = ? ORDER BY timestamp_ms, id', args: [surveyId] });
  return summarizeConnections(rs.rows as unknown as Record<string, unknown>[]);
}

/**
 * Every number to 12 significant digits. Sums of non-integer figures (sender_paused_ms, throughput) come out of SQLite's
 * compensated SUM a last bit away from a left-to-right sum in JavaScript: the same figure, not a different definition.
 */
function toTwelveDigits(v: unknown): unknown {
  if (typeof v === 'number') return Number(v.toPrecision(12));
  if (Array.isArray(v)) return v.map(toTwelveDigits);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, toTwelveDigits(x)]));
  return v;
}

type Q = [number, number, number, number];
interface Second {
  conn?: string | null;
  source?: string;
  direction?: string;
  t: number;
  expected: number | null;
  received: number;
  loss: number;
  reorder?: number;
  rtt?: Q;
  /** null: a second before any unloaded baseline (no deviation). */
  delay?: Q | null;
  jitter?: Q;
  lost?: number | null;
  loaded?: number | null;
  tput?: number | null;
  paused?: number | null;
  late?: number | null;
}

async function insertSeconds(surveyId: string, seconds: Second[]): Promise<void> {
  await db.db.execute({
    sql: 'INSERT INTO survey_sessions (session_id, magic_key, start_time, last_update_time, created_at) VALUES (?, ?, 0, 0, 0)',
    args: [surveyId, magicKey],
  });
  await db.db.batch(
    seconds.map((o, i) => {
      const [rtt, delay, jitter] = [o.rtt ?? [0, 0, 0, 0], o.delay === null ? [null, null, null, null] : (o.delay ?? [0, 0, 0, 0]), o.jitter ?? [0, 0, 0, 0]];
      return {
        sql: `INSERT INTO survey_metrics (session_id, timestamp_ms, source, conn_id, direction,
          delay_p50_ms, delay_p99_ms, delay_min_ms, delay_max_ms, jitter_p50_ms, jitter_p99_ms, jitter_min_ms, jitter_max_ms,
          rtt_p50_ms, rtt_p99_ms, rtt_min_ms, rtt_max_ms, loss_rate, reorder_rate, probe_count, baseline_delay_ms, created_at,
          probes_expected, late_count, sender_paused_ms, loaded, throughput_bps, loss_tmax_ms, row_key, lost_count)
          VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1.5, 0, ?, ?, ?, ?, ?, 200, ?, ?)`,
        args: [
          surveyId, o.t, o.source ?? 'server', o.conn === undefined ? 'a' : o.conn, o.direction ?? 'c2s',
          ...delay, ...jitter, ...rtt, o.loss, o.reorder ?? 0, o.received,
          o.expected, o.late === undefined ? 0 : o.late, o.paused ?? null, o.loaded === undefined ? 0 : o.loaded, o.tput ?? null, `${surveyId}/${i}`,
          o.lost ?? null,
        ],
      };
    }),
    'write',
  );
}

describe('survey summaries in SQL', () => {
  it('equal the reference on crafted seconds: idle/loaded, no arrivals, old rows without probes_expected, other rows ignored, a null connection', async () => {
    await insertSeconds('crafted', [
      // Out of time order on purpose: connection b appears first in time though inserted last-but-one.
      { t: 1000, expected: 100, received: 98, loss: 2, reorder: (1 / 98) * 100, rtt: [10, 20, 8, 25], delay: [0.5, 3, -1, 4], jitter: [0.2, 1, 0, 2], paused: 12 },
      { t: 2000, expected: 100, received: 0, loss: 100 },
      { t: 3000, expected: 100, received: 90, loss: 10, rtt: [30, 60, 20, 70], delay: [5, 12, 0, 15], jitter: [1, 4, 0, 6], loaded: 1, tput: 8e6, late: 3 },
      { t: 4000, expected: 100, received: 100, loss: 0, reorder: 2, rtt: [12, 22, 9, 30], delay: [0.4, 2, -0.5, 3], jitter: [0.3, 1.5, 0, 2.5] },
      { t: 5000, expected: 100, received: 100, loss: 0, rtt: [40, 80, 30, 90], delay: [6, 14, 1, 16], jitter: [2, 5, 0, 7], loaded: 1, tput: 4e6 },
      { t: 6000, expected: null, received: 90, loss: 10, loaded: null, late: null, tput: 2.5e6 },
      { t: 7000, expected: null, received: 0, loss: 100, rtt: [0, 0, 0, 0] },
      { source: 'client', direction: 'c2s', t: 1000, expected: 0, received: 0, loss: 0 },
      { source: 'server', direction: 's2c', t: 1000, expected: 7, received: 7, loss: 0 },
      { source: 'client', direction: 's2c', t: 1000, expected: 50, received: 45, loss: 10, rtt: [11, 19, 9, 21] },
      { source: 'client', direction: 's2c', t: 2000, expected: 50, received: 50, loss: 0, rtt: [13, 18, 10, 22], loaded: 1 },
      { conn: 'b', source: 'client', direction: 's2c', t: 500, expected: 100, received: 100, loss: 0, rtt: [5, 6, 4, 7] },
      { conn: null, t: 800, expected: 10, received: 10, loss: 0, delay: [1, 2, 0.5, 3] },
    ]);
    const reference = await referenceSummaries('crafted');
    expect(reference.map((c) => c.conn_id)).toEqual(['b', '', 'a']);
    expect(reference[2]!.c2s.rtt_ms).toEqual({ p50: 12, p99: 80, min: 8, max: 90 }); // the hand-worked figures of test/unit/survey-summary.test.ts
    expect(await surveyConnectionSummaries(db.db, 'crafted')).toEqual(reference);
  });

  it('equal the reference on a seeded survey of 4 connections, nulls every 10th second', async () => {
    await seedManyMetricRows(db.db, 'seeded', magicKey, 4_000);
    const reference = await referenceSummaries('seeded');
    expect(reference).toHaveLength(4);
    expect(toTwelveDigits(await surveyConnectionSummaries(db.db, 'seeded'))).toEqual(toTwelveDigits(reference));
  });

  it('read nothing while their gate does not hold, and the same summaries while it does (its arguments after the survey id)', async () => {
    const gated = async (open: number) => {
      const rs = await db.db.batch(surveySummaryStatements('crafted', { sql: '? = 1', args: [open] }), 'read');
      return surveySummariesFrom(rs, surveySummarySketches(rs));
    };
    expect(await gated(0)).toEqual([]);
    expect(await gated(1)).toEqual(await surveyConnectionSummaries(db.db, 'crafted'));
    expect((await gated(1)).map((c) => c.conn_id)).toEqual(['b', '', 'a']);
  });

  it('leave seconds without a baseline out of delay deviation (none at all: null), and count lost_count where stored', async () => {
    await insertSeconds('no-baseline', [
      // Two loaded seconds before any unloaded one: no deviation.
      { t: 1000, expected: 100, received: 97, loss: 3, delay: null, loaded: 1, lost: 3 },
      { t: 2000, expected: 100, received: 100, loss: 0, delay: null, loaded: 1, lost: 0 },
      { t: 3000, expected: 100, received: 99, loss: 1, delay: [1, 4, 0, 5], lost: 1 },
      { t: 4000, expected: 100, received: 100, loss: 0, delay: [2, 6, -1, 7], loaded: 1, lost: 0 },
      { conn: 'only-loaded', t: 1000, expected: 100, received: 100, loss: 0, delay: null, loaded: 1, lost: 0 },
    ]);
    const reference = await referenceSummaries('no-baseline');
    const a = reference.find((c) => c.conn_id === 'a')!;
    // Hand-worked: deviation over seconds 3 and 4 only (median of p50s 1, 2 by nearest rank: 1); loss 4 of 400.
    expect(a.c2s.delay_deviation_ms).toEqual({ p50: 1, p99: 6, min: -1, max: 7 });
    expect(a.c2s.probes_lost).toBe(4);
    expect(a.c2s.loaded.delay_deviation_ms).toEqual({ p50: 2, p99: 6, min: -1, max: 7 });
    expect(reference.find((c) => c.conn_id === 'only-loaded')!.c2s.delay_deviation_ms).toBeNull();
    expect(await surveyConnectionSummaries(db.db, 'no-baseline')).toEqual(reference);
  });

  it('a survey without rows has no summaries', async () => {
    expect(await surveyConnectionSummaries(db.db, 'no-such-survey')).toEqual([]);
  });

  it('merge per-second sketches over every page: p50 of 500 seconds at 10 ms and 600 of 3 samples at 80 ms is 10 ms, in two round trips', async () => {
    const big = Array.from({ length: 500 }, () => rttSecond(Array(100).fill(10), false));
    // 600 small seconds, the last 50 of them loaded.
    const small = Array.from({ length: 600 }, (_, k) => rttSecond([80, 80, 80], k >= 550));
    const bare = withoutSketches(rttSecond([30, 30], false));
    const rows = [
      ...[...big, ...small].map((stats, i) => ({ source: 'server' as const, direction: 'c2s' as const, stats, t: 1_000 + i })),
      // The client's side: two sketched seconds and one from an older peer without: never mixed.
      { source: 'client' as const, direction: 's2c' as const, stats: rttSecond([20, 20], false), t: 1_000 },
      { source: 'client' as const, direction: 's2c' as const, stats: bare, t: 1_001 },
      { source: 'client' as const, direction: 's2c' as const, stats: rttSecond([40], false), t: 1_002 },
    ];
    expect(rows.length).toBeGreaterThan(SKETCH_PAGE_ROWS);
    await db.db.execute({ sql: 'INSERT INTO survey_sessions (session_id, magic_key, start_time, last_update_time, created_at) VALUES (?, ?, 0, 0, 0)', args: ['sketched', magicKey] });
    await db.db.batch(rows.map((r, i) => insertMetric({ session_id: 'sketched', conn_id: 'a', timestamp_ms: r.t, source: r.source, direction: r.direction, stats: r.stats, row_key: `sk/${i}` }, 0)), 'write');

    let trips = 0;
    const counting = new Proxy(db.db, {
      get: (target, prop) => (prop === 'batch' || prop === 'execute' ? (...a: unknown[]) => (trips++, (target[prop] as (...x: unknown[]) => unknown).apply(target, a)) : Reflect.get(target, prop)),
    }) as Db;
    const [sql] = await surveyConnectionSummaries(counting, 'sketched');
    expect(trips).toBe(2); // the summary's batch with the first page of sketches, then the second page
    const near = (got: number, want: number) => expect(Math.abs(got - want)).toBeLessThanOrEqual(want * 0.01);
    const c2s = sql!.c2s;
    expect(c2s.percentiles).toBe('merged');
    near(c2s.rtt_ms!.p50, 10); // the median of the 1100 per-second p50s would be 80
    near(c2s.rtt_ms!.p99, 80); // rank ⌈0.99 · 51800⌉ = 51282 is past the 50000 samples at 10 ms
    near(c2s.idle.rtt_ms!.p50, 10);
    expect(c2s.loaded.percentiles).toBe('merged');
    near(c2s.loaded.rtt_ms!.p50, 80);
    expect(sql!.s2c.percentiles).toBe('per_second_approx');
    expect(sql!.s2c.rtt_ms).toEqual({ p50: 30, p99: 40, min: 20, max: 40 }); // median of p50s 20, 30, 40; largest p99
    expect([sql]).toEqual(await referenceSummaries('sketched'));

    // A survey within one page of sketches is a single round trip.
    trips = 0;
    await surveyConnectionSummaries(counting, 'crafted');
    expect(trips).toBe(1);
  });

  it('gives RPM as the draft defines it: 60000 / the trimmed mean of the loaded round trips, from the merged sketches', async () => {
    // The client's side (s2c): two idle seconds at 5 ms (left out), then a loaded second of 50 round trips at
    // 10.016 ms and one of 50 at 30.016 ms (each its sketch bucket's midpoint, so the sketch holds them exactly).
    // The draft's trimmed mean keeps the lowest ⌈0.95 · 100⌉ = 95: (50 · 10.016 + 45 · 30.016) / 95 = 1851.52 / 95 ms,
    // so RPM = 60000 · 95 / 1851.52 = 3078.55…; 60000 / the loaded p50 (10.016 ms) would say 5990.4.
    const s2c = [rttSecond(Array(100).fill(5), false), rttSecond(Array(100).fill(5), false), rttSecond(Array(50).fill(10.016), true), rttSecond(Array(50).fill(30.016), true)];
    // The relay's side (c2s) from an older peer: loaded seconds without sketches, RTT p50s 20 and 40 ms. No samples
    // to trim: 60000 / the median of the p50s (20 ms) = 3000, and said to be that approximation.
    const bare = (q: Q): DirectionStats => ({ ...withoutSketches(rttSecond([q[0]], true)), rtt_ms: q });
    const c2s = [bare([20, 30, 10, 30]), bare([40, 50, 35, 50])];
    const rows = [
      ...s2c.map((stats, i) => ({ source: 'client' as const, direction: 's2c' as const, stats, t: 1_000 + i * 1_000 })),
      ...c2s.map((stats, i) => ({ source: 'server' as const, direction: 'c2s' as const, stats, t: 3_000 + i * 1_000 })),
    ];
    await db.db.execute({ sql: 'INSERT INTO survey_sessions (session_id, magic_key, start_time, last_update_time, created_at) VALUES (?, ?, 0, 0, 0)', args: ['rpm', magicKey] });
    await db.db.batch(rows.map((r, i) => insertMetric({ session_id: 'rpm', conn_id: 'a', timestamp_ms: r.t, source: r.source, direction: r.direction, stats: r.stats, row_key: `rpm/${i}` }, 0)), 'write');

    const [sql] = await surveyConnectionSummaries(db.db, 'rpm');
    expect(sql!.s2c.responsiveness_rpm).toBeCloseTo((60_000 * 95) / 1851.52, 6);
    expect(sql!.s2c.responsiveness_from).toBe('trimmed_mean');
    expect(sql!.c2s.responsiveness_rpm).toBe(3000);
    expect(sql!.c2s.responsiveness_from).toBe('p50_approx');
    // The reference over every row says the same.
    expect(toTwelveDigits([sql])).toEqual(toTwelveDigits(await referenceSummaries('rpm')));
  });
});
