// Metric rows → chart data: one x per second since the survey's start (a missing second is a null, so charts
// show gaps as gaps), one series per connection and direction, and the spans measured under load.

/** A survey_metrics row as `GET /api/surveys/{id}/metrics?format=json` gives it (the columns charts read). */
export interface MetricRow {
  timestamp_ms: number;
  source: string;
  conn_id: string | null;
  direction: string | null;
  delay_p50_ms: number | null;
  delay_p99_ms: number | null;
  jitter_p50_ms: number | null;
  rtt_p50_ms: number | null;
  rtt_p99_ms: number | null;
  loss_rate: number | null;
  reorder_rate: number | null;
  throughput_bps: number | null;
  loaded: number | null;
  probe_count: number | null;
  /** The row's window on the side that measured it (absent on older rows and on downsampled buckets, which the edge placed already). */
  window_index?: number | null;
}

export type Direction = 'c2s' | 's2c';

/** The rows that measured a direction: what the relay received (c2s) and what the client received (s2c). */
export const isMeasurement = (r: MetricRow): r is MetricRow & { direction: Direction } =>
  (r.source === 'server' && r.direction === 'c2s') || (r.source === 'client' && r.direction === 's2c');

export interface MetricSpec {
  id: string;
  title: string;
  unit: string;
  /** Per row; null where the row has no value. */
  read: (r: MetricRow) => number | null;
}

const ms = (v: number | null, ok: boolean) => (ok && v !== null && Number.isFinite(v) ? v : null);
const hasProbes = (r: MetricRow) => (r.probe_count ?? 0) > 0;

/** What the console charts, each for every connection and direction. */
export const METRICS: readonly MetricSpec[] = [
  { id: 'delay_p50', title: 'Delay variation p50', unit: 'ms', read: (r) => ms(r.delay_p50_ms, hasProbes(r)) },
  { id: 'delay_p99', title: 'Delay variation p99', unit: 'ms', read: (r) => ms(r.delay_p99_ms, hasProbes(r)) },
  { id: 'rtt_p50', title: 'RTT p50', unit: 'ms', read: (r) => ms(r.rtt_p50_ms, (r.rtt_p50_ms ?? 0) > 0) },
  { id: 'rtt_p99', title: 'RTT p99', unit: 'ms', read: (r) => ms(r.rtt_p99_ms, (r.rtt_p99_ms ?? 0) > 0) },
  { id: 'jitter', title: 'Jitter (IPDV) p50', unit: 'ms', read: (r) => ms(r.jitter_p50_ms, hasProbes(r)) },
  { id: 'loss', title: 'Loss', unit: '%', read: (r) => r.loss_rate },
  { id: 'reorder', title: 'Reordering', unit: '%', read: (r) => r.reorder_rate },
  { id: 'throughput', title: 'Throughput', unit: 'Mbit/s', read: (r) => (r.throughput_bps === null ? null : r.throughput_bps / 1e6) },
];

export interface SeriesKey {
  conn_id: string;
  direction: Direction;
}

export interface ChartData {
  /** Seconds since `t0_ms`, every second from the first row to the last. */
  xs: number[];
  /** One column per key, aligned with xs (null: no row that second). */
  series: { key: SeriesKey; values: (number | null)[] }[];
  /** [from, to] in seconds since t0 where any row was under load. */
  loaded: [number, number][];
}

/** Every (connection, direction) that has rows, in a stable order. */
export function seriesKeys(rows: readonly MetricRow[]): SeriesKey[] {
  const seen = new Map<string, SeriesKey>();
  for (const r of rows) if (isMeasurement(r)) seen.set(`${r.conn_id ?? ''}|${r.direction}`, { conn_id: r.conn_id ?? '', direction: r.direction });
  return [...seen.values()].sort((a, b) => a.conn_id.localeCompare(b.conn_id) || a.direction.localeCompare(b.direction));
}

/**
 * The chart data of one metric, on seconds since `t0_ms` (the survey's start, or each survey's own start when comparing).
 * `stepS` is the rows' spacing: 1 for per-second rows, a bucket's width for /series answers downsampled on the edge.
 */
export function chartData(rows: readonly MetricRow[], metric: MetricSpec, t0_ms: number, keys = seriesKeys(rows), stepS = 1): ChartData {
  const measured = rows.filter(isMeasurement);
  const placed = placeRows(measured);
  const second = (r: MetricRow) => Math.round((placed.get(r)! - t0_ms) / 1000);
  if (!measured.length) return { xs: [], series: keys.map((key) => ({ key, values: [] })), loaded: [] };
  let [first, last] = [Infinity, -Infinity];
  for (const r of measured) [first, last] = [Math.min(first, second(r)), Math.max(last, second(r))];
  const slot = (r: MetricRow) => Math.round((second(r) - first) / stepS);
  const xs = Array.from({ length: Math.round((last - first) / stepS) + 1 }, (_, i) => first + i * stepS);
  const series = keys.map((key) => {
    const values: (number | null)[] = xs.map(() => null);
    for (const r of measured) if ((r.conn_id ?? '') === key.conn_id && r.direction === key.direction) values[slot(r)] = metric.read(r);
    return { key, values };
  });
  return { xs, series, loaded: loadedSpans(measured.filter((r) => r.loaded === 1).map((r) => xs[slot(r)]!), stepS) };
}

/**
 * Where each row stands, in ms: a connection's rows with `window_index` at the connection's first second plus their
 * index (the earliest row time less its index), so the relay's and the client's windows of one index share a second
 * and a late write neither leaves a gap nor doubles a second (as survey-series.ts does in SQL); rows without an
 * index at their timestamp.
 */
export function placeRows(rows: readonly MetricRow[]): Map<MetricRow, number> {
  const anchor = new Map<string, number>();
  for (const r of rows) {
    if (r.window_index == null) continue;
    const conn = r.conn_id ?? '';
    anchor.set(conn, Math.min(anchor.get(conn) ?? Infinity, r.timestamp_ms - 1000 * r.window_index));
  }
  return new Map(rows.map((r) => [r, r.window_index == null ? r.timestamp_ms : anchor.get(r.conn_id ?? '')! + 1000 * r.window_index]));
}

/** Consecutive loaded seconds (or buckets `stepS` wide) as [from, to] spans (a row covers [s - stepS, s]: it is stamped at its end). */
export function loadedSpans(seconds: readonly number[], stepS = 1): [number, number][] {
  const sorted = [...new Set(seconds)].sort((a, b) => a - b);
  const spans: [number, number][] = [];
  for (const s of sorted) {
    const last = spans[spans.length - 1];
    if (last && s - stepS <= last[1]) last[1] = s;
    else spans.push([s - stepS, s]);
  }
  return spans;
}

/** The row nearest to a moment of the survey (within `withinMs`), for colouring a position on the track. */
export function rowNear(rows: readonly MetricRow[], atMs: number, direction: Direction, withinMs = 1500): MetricRow | null {
  let best: MetricRow | null = null;
  for (const r of rows) {
    if (!isMeasurement(r) || r.direction !== direction) continue;
    if (Math.abs(r.timestamp_ms - atMs) <= withinMs && (!best || Math.abs(r.timestamp_ms - atMs) < Math.abs(best.timestamp_ms - atMs))) best = r;
  }
  return best;
}
