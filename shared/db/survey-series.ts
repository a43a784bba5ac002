// A survey's chart series downsampled in the database: time buckets of whole seconds, at most `points` buckets per
// (connection, direction), so a chart request reads a bounded number of rows whatever the survey's length.
import * as z from 'zod';
import type { InStatement, ResultSet } from './client.js';

/** The most points a series may ask for. */
export const MAX_SERIES_POINTS = 2_000;
/** The most rows one answer carries, whatever the number of series: a survey of many connections gets fewer points per series. */
export const MAX_SERIES_ROWS = 8_000;

/** `GET /api/surveys/{id}/series`: from/to in ms since the epoch (default: the survey's first and last row), points ≤ 2,000. */
export const SeriesQuerySchema = z.object({
  from: z.coerce.number().int().nonnegative().optional(),
  to: z.coerce.number().int().nonnegative().optional(),
  points: z.coerce.number().int().min(1).max(MAX_SERIES_POINTS).default(MAX_SERIES_POINTS),
  deleted: z.enum(['false', 'true', 'all']).default('false'),
});
export type SeriesQuery = z.infer<typeof SeriesQuerySchema>;

/**
 * The buckets of one survey's measured rows (server/c2s, client/s2c). A bucket is `bucket_ms` wide, a whole number of
 * seconds chosen so the range fits in `points` buckets (fewer when the survey has more than MAX_SERIES_ROWS / points series); it answers a row in the shape of `/metrics?format=json`:
 * timestamp_ms its first second; p50s the mean of its seconds' (a typical value); p99s, loss and reordering the largest
 * of its seconds' (a bad second is never averaged away); throughput the mean; probe_count the sum; loaded if any second was.
 * Delay and jitter read only seconds that received probes, RTT only seconds with an echo, as the charts do.
 * A row stands at its window's second, not at its write time: a connection's rows with `window_index` are placed at
 * the connection's first second plus their index (the earliest row time less its index), so the relay's and the
 * client's window of one index share a second and a late write neither leaves a gap nor doubles a second. Rows
 * without an index (older relays) keep their timestamp.
 */
export function seriesStatement(sessionId: string, q: Pick<SeriesQuery, 'from' | 'to' | 'points'>): InStatement {
  return {
    sql: `WITH r AS (
        SELECT * FROM survey_metrics
        WHERE session_id = ? AND ((source = 'server' AND direction = 'c2s') OR (source = 'client' AND direction = 's2c'))),
      a AS (SELECT conn_id, MIN(timestamp_ms - 1000 * window_index) AS anchor FROM r WHERE window_index IS NOT NULL GROUP BY conn_id),
      m AS (SELECT r.*, COALESCE(a.anchor + 1000 * r.window_index, r.timestamp_ms) AS placed_ms FROM r LEFT JOIN a ON a.conn_id IS r.conn_id),
      b AS (SELECT CAST(COALESCE(?, MIN(placed_ms)) AS INTEGER) AS f, CAST(COALESCE(?, MAX(placed_ms)) AS INTEGER) AS t FROM m),
      k AS (SELECT MAX(COUNT(*), 1) AS n FROM (SELECT DISTINCT conn_id, direction FROM m)),
      p AS (SELECT MAX(1, MIN(CAST(? AS INTEGER), ${MAX_SERIES_ROWS} / n)) AS per FROM k),
      w AS (SELECT f, t, 1000 * (MAX(t - f, 0) / (1000 * per) + 1) AS bucket_ms FROM b, p)
      SELECT w.f AS range_from, w.t AS range_to, w.bucket_ms, MIN(m.placed_ms) AS timestamp_ms, m.source, m.conn_id, m.direction,
        AVG(CASE WHEN m.probe_count > 0 THEN m.delay_p50_ms END) AS delay_p50_ms,
        MAX(CASE WHEN m.probe_count > 0 THEN m.delay_p99_ms END) AS delay_p99_ms,
        AVG(CASE WHEN m.probe_count > 0 THEN m.jitter_p50_ms END) AS jitter_p50_ms,
        AVG(CASE WHEN m.rtt_p50_ms > 0 THEN m.rtt_p50_ms END) AS rtt_p50_ms,
        MAX(CASE WHEN m.rtt_p99_ms > 0 THEN m.rtt_p99_ms END) AS rtt_p99_ms,
        MAX(m.loss_rate) AS loss_rate, MAX(m.reorder_rate) AS reorder_rate, AVG(m.throughput_bps) AS throughput_bps,
        MAX(COALESCE(m.loaded, 0)) AS loaded, SUM(COALESCE(m.probe_count, 0)) AS probe_count
      FROM m, w WHERE m.placed_ms BETWEEN w.f AND w.t
      GROUP BY m.conn_id, m.direction, m.source, (m.placed_ms - w.f) / w.bucket_ms
      ORDER BY m.conn_id, m.direction, timestamp_ms
      LIMIT ${MAX_SERIES_ROWS}`,
    args: [sessionId, q.from ?? null, q.to ?? null, q.points],
  };
}

/** The chart rows of a bucket query, and the range and bucket width they cover (null range: no rows). */
export interface SeriesAnswer {
  from: number | null;
  to: number | null;
  bucket_ms: number;
  rows: Record<string, unknown>[];
}

const ROW_FIELDS = [
  'timestamp_ms', 'source', 'conn_id', 'direction', 'delay_p50_ms', 'delay_p99_ms', 'jitter_p50_ms', 'rtt_p50_ms', 'rtt_p99_ms',
  'loss_rate', 'reorder_rate', 'throughput_bps', 'loaded', 'probe_count',
] as const;

/** The answer from seriesStatement's result. */
export function seriesFrom(rs: ResultSet, q: Pick<SeriesQuery, 'from' | 'to'>): SeriesAnswer {
  const first = rs.rows[0];
  const n = (v: unknown) => (v == null ? null : Number(v));
  return {
    from: first ? n(first.range_from) : (q.from ?? null),
    to: first ? n(first.range_to) : (q.to ?? null),
    bucket_ms: first ? Number(first.bucket_ms) : 1000,
    rows: rs.rows.map((r) => Object.fromEntries(ROW_FIELDS.map((k) => [k, k === 'source' || k === 'conn_id' || k === 'direction' ? (r[k] ?? null) : n(r[k])]))),
  };
}
