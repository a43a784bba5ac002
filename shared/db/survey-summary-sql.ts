// A survey's per-connection summaries computed in the database (GROUP BY and window functions), so the edge reads a
// few rows per connection whatever the survey's length. Same figures as summarizeConnections (survey-summary.ts),
// which stays the reference definition: test/integration/survey-summary-sql.test.ts holds them equal.
import type { Db, InStatement, ResultSet } from './client.js';
import type { SqlCondition } from './survey-list.js';
import type { ConnectionSummary, DirectionSummary, Percentiles, WindowSummary } from './survey-summary.js';
import { storedResponsiveness } from '../stats/responsiveness.js';
import { continueSketchPages, mergeSketchRows, sketchStatements, type SketchMerge } from './survey-sketches.js';

/**
 * (Exported for the per-family and per-path split, survey-path-split.ts: the same seconds, grouped otherwise.)
 * Each measured second with its counts as windowCounts (shared/stats/aggregate.ts) recovers them, tagged twice:
 * scope = its load (0 idle, 1 loaded) and scope = -1 (the whole survey), so one GROUP BY gives all three windows.
 * A NULL reads as 0, as metricRowToStats reads it.
 */
export const SECONDS = (gate: string) => `m AS (
  SELECT COALESCE(conn_id, '') AS conn_id, family AS fam, path_index AS path, CASE WHEN source = 'server' THEN 'c2s' ELSE 's2c' END AS dir, timestamp_ms, id,
    CASE WHEN COALESCE(loaded, 0) != 0 THEN 1 ELSE 0 END AS ld,
    COALESCE(probe_count, 0) AS received, COALESCE(loss_rate, 0) AS loss, COALESCE(reorder_rate, 0) AS reorder,
    CASE WHEN probes_expected IS NOT NULL THEN probes_expected
         WHEN COALESCE(loss_rate, 0) < 100 THEN ROUND(COALESCE(probe_count, 0) / (1 - COALESCE(loss_rate, 0) / 100.0))
         ELSE 0 END AS expected,
    lost_count AS lost_n, delay_p50_ms IS NOT NULL AS has_dev,
    COALESCE(late_count, 0) AS late, COALESCE(sender_paused_ms, 0) AS paused, throughput_bps AS tput,
    COALESCE(delay_p50_ms, 0) AS d50, COALESCE(delay_p99_ms, 0) AS d99, COALESCE(delay_min_ms, 0) AS dmin, COALESCE(delay_max_ms, 0) AS dmax,
    COALESCE(jitter_p50_ms, 0) AS j50, COALESCE(jitter_p99_ms, 0) AS j99, COALESCE(jitter_min_ms, 0) AS jmin, COALESCE(jitter_max_ms, 0) AS jmax,
    COALESCE(rtt_p50_ms, 0) AS r50, COALESCE(rtt_p99_ms, 0) AS r99, COALESCE(rtt_min_ms, 0) AS rmin, COALESCE(rtt_max_ms, 0) AS rmax
  FROM survey_metrics
  WHERE session_id = ? AND (${gate}) AND ((source = 'server' AND direction = 'c2s') OR (source = 'client' AND direction = 's2c'))
), s AS (SELECT *, ld AS scope FROM m UNION ALL SELECT *, -1 AS scope FROM m)`;

/** Sums of counts, extremes of the seconds with samples (delay: received > 0 and a baseline; jitter: received > 0; RTT: rtt max > 0), per connection, direction and scope. */
const SUMS = (gate: string) => `WITH ${SECONDS(gate)}
  SELECT conn_id, dir, scope, COUNT(*) AS seconds, MIN(timestamp_ms) AS first_ms, MAX(timestamp_ms) AS last_ms,
    SUM(expected) AS expected, SUM(received) AS received,
    SUM(COALESCE(lost_n, ROUND(loss / 100.0 * expected))) AS lost, SUM(ROUND(reorder / 100.0 * received)) AS reordered,
    SUM(late) AS late, SUM(paused) AS paused,
    SUM(received = 0 AND expected > 0) AS without_arrivals,
    SUM(received > 0) AS with_data, SUM(received > 0 AND has_dev) AS with_dev, SUM(rmax > 0) AS with_rtt,
    MAX(CASE WHEN received > 0 AND has_dev THEN d99 END) AS d99, MIN(CASE WHEN received > 0 AND has_dev THEN dmin END) AS dmin, MAX(CASE WHEN received > 0 AND has_dev THEN dmax END) AS dmax,
    MAX(CASE WHEN received > 0 THEN j99 END) AS j99, MIN(CASE WHEN received > 0 THEN jmin END) AS jmin, MAX(CASE WHEN received > 0 THEN jmax END) AS jmax,
    MAX(CASE WHEN rmax > 0 THEN r99 END) AS r99, MIN(CASE WHEN rmax > 0 THEN rmin END) AS rmin, MAX(CASE WHEN rmax > 0 THEN rmax END) AS rmax,
    COUNT(tput) AS tput_seconds, SUM(tput) AS tput_sum, MAX(tput) AS tput_max
  FROM s GROUP BY conn_id, dir, scope`;

/** p50 of a window = the nearest-rank median (rank ⌈n/2⌉) of its seconds' p50s, over the seconds with samples. */
const median = (metric: string, col: string, withSamples: string) => `SELECT conn_id, dir, scope, '${metric}' AS metric, v FROM (
    SELECT conn_id, dir, scope, ${col} AS v,
      ROW_NUMBER() OVER (PARTITION BY conn_id, dir, scope ORDER BY ${col}) AS rn, COUNT(*) OVER (PARTITION BY conn_id, dir, scope) AS n
    FROM s WHERE ${withSamples}) WHERE rn = (n + 1) / 2`;

const MEDIANS = (gate: string) => `WITH ${SECONDS(gate)}
  ${median('delay', 'd50', 'received > 0 AND has_dev')} UNION ALL ${median('jitter', 'j50', 'received > 0')} UNION ALL ${median('rtt', 'r50', 'rmax > 0')}`;

/** Connections in order of first appearance: by their earliest measured row (timestamp, then id). */
const ORDER = (gate: string) => `SELECT conn_id FROM (
    SELECT COALESCE(conn_id, '') AS conn_id, timestamp_ms, id,
      ROW_NUMBER() OVER (PARTITION BY COALESCE(conn_id, '') ORDER BY timestamp_ms, id) AS rn
    FROM survey_metrics
    WHERE session_id = ? AND (${gate}) AND ((source = 'server' AND direction = 'c2s') OR (source = 'client' AND direction = 's2c')))
  WHERE rn = 1 ORDER BY timestamp_ms, id`;

/**
 * The statements whose results surveySummariesFrom reads (run them in one batch, in this order). `gate`, a condition
 * on nothing but its own subqueries, is checked once before any row is read: false, and they read none (a survey the
 * viewer may not see, in the batch that checks it, costs nothing).
 */
export function surveySummaryStatements(sessionId: string, gate: SqlCondition = { sql: '1', args: [] }): InStatement[] {
  const args = [sessionId, ...gate.args];
  return [
    { sql: SUMS(gate.sql), args },
    { sql: MEDIANS(gate.sql), args },
    { sql: ORDER(gate.sql), args },
    ...sketchStatements(sessionId, gate),
  ];
}

type Row = Record<string, unknown>;
const num = (v: unknown) => Number(v ?? 0);
const key = (conn: unknown, dir: unknown, scope: unknown) => `${String(conn ?? '')}|${String(dir)}|${num(scope)}`;

function windowFrom(r: Row | undefined, medians: Map<string, number>, k: string, sketches: SketchMerge): WindowSummary {
  const expected = num(r?.expected);
  const received = num(r?.received);
  const lost = num(r?.lost);
  const reordered = num(r?.reordered);
  const withData = num(r?.with_data) > 0;
  const source = withData || num(r?.with_rtt) > 0 ? sketches.source(k) : null;
  const quad = (metric: 'delay' | 'jitter' | 'rtt', p: string, has: boolean): Percentiles | null =>
    has
      ? sketches.percentiles(k, metric, source, { p50: medians.get(`${k}|${metric}`) ?? 0, p99: num(r?.[`${p}99`]), min: num(r?.[`${p}min`]), max: num(r?.[`${p}max`]) })
      : null;
  const tputSeconds = num(r?.tput_seconds);
  return {
    seconds: num(r?.seconds),
    probes_expected: expected,
    probes_received: received,
    probes_lost: lost,
    late_count: num(r?.late),
    loss_rate: expected ? (lost / expected) * 100 : 0,
    seconds_without_arrivals: num(r?.without_arrivals),
    reordered,
    reorder_rate: received ? (reordered / received) * 100 : 0,
    // Seconds before any unloaded baseline have no deviation (NULL): left out, and none at all gives null.
    delay_deviation_ms: quad('delay', 'd', num(r?.with_dev) > 0),
    rtt_ms: quad('rtt', 'r', num(r?.with_rtt) > 0),
    jitter_ms: quad('jitter', 'j', withData),
    throughput_bps: tputSeconds ? { mean: num(r?.tput_sum) / tputSeconds, max: num(r?.tput_max), seconds: tputSeconds } : null,
    sender_paused_ms: num(r?.paused),
    percentiles: source,
  };
}

function directionFrom(conn: string, dir: string, sums: Map<string, Row>, medians: Map<string, number>, sk: SketchMerge): DirectionSummary {
  const at = (scope: number) => key(conn, dir, scope);
  const all = sums.get(at(-1));
  const loaded = windowFrom(sums.get(at(1)), medians, at(1), sk);
  return {
    ...windowFrom(all, medians, at(-1), sk),
    first_ms: all ? num(all.first_ms) : null,
    last_ms: all ? num(all.last_ms) : null,
    idle: windowFrom(sums.get(at(0)), medians, at(0), sk),
    loaded,
    // As splitByLoad (the reference): the draft's trimmed mean over the loaded seconds' merged RTT sketches.
    ...storedResponsiveness(sk.merged(at(1), 'rtt'), loaded.rtt_ms?.p50 ?? 0),
  };
}

/**
 * The survey's sketches merged per connection, direction and scope, from the results of surveySummaryStatements
 * and `morePages` of sketches that continueSketchPages fetched for a long survey (the per-path split reuses them).
 */
export function surveySummarySketches(results: readonly ResultSet[], morePages: readonly ResultSet[] = []): SketchMerge {
  return mergeSketchRows(results[3]!, [results[4]!, ...morePages]);
}

/**
 * The per-connection summaries from the results of surveySummaryStatements (a few rows per connection, plus the
 * first page of sketches), merged by `sk` (surveySummarySketches of those results and any further pages).
 */
export function surveySummariesFrom([sums, medians, order]: readonly ResultSet[], sk: SketchMerge): ConnectionSummary[] {
  const byKey = new Map<string, Row>();
  for (const r of sums!.rows as unknown as Row[]) byKey.set(key(r.conn_id, r.dir, r.scope), r);
  const p50s = new Map<string, number>();
  for (const r of medians!.rows as unknown as Row[]) p50s.set(`${key(r.conn_id, r.dir, r.scope)}|${String(r.metric)}`, num(r.v));
  return (order!.rows as unknown as Row[]).map((r) => {
    const conn = String(r.conn_id ?? '');
    return { conn_id: conn, c2s: directionFrom(conn, 'c2s', byKey, p50s, sk), s2c: directionFrom(conn, 's2c', byKey, p50s, sk) };
  });
}

/** The first page of sketches among the results of surveySummaryStatements: when full, continueSketchPages reads the rest. */
export const firstSketchPage = (results: readonly ResultSet[]): ResultSet => results[4]!;

/**
 * Every connection's summary of a survey (access already checked by the caller): one round trip, and one more per
 * further page of sketches (a survey of SKETCH_PAGE_ROWS or more measured seconds that carry sketches).
 */
export async function surveyConnectionSummaries(db: Db, sessionId: string): Promise<ConnectionSummary[]> {
  const results = await db.batch(surveySummaryStatements(sessionId), 'read');
  return surveySummariesFrom(results, surveySummarySketches(results, await continueSketchPages(db, sessionId, firstSketchPage(results))));
}
