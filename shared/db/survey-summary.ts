// A survey's summary per connection and direction (PROTOCOL.md §4 GET /api/surveys/{id}), from its per-second metric rows, by counts:
// the reference definition; the edge computes the same figures in SQL (survey-summary-sql.ts).
import { aggregateStats, splitByLoad, windowCounts } from '../stats/aggregate.js';
import type { DirectionStats, PercentileSource } from '../stats/direction-stats.js';
import type { Quad } from '../stats/percentiles.js';
import type { ResponsivenessFrom } from '../stats/responsiveness.js';

/** A distribution over a window of seconds; see summarizeWindows for how it is derived from the per-second quads. */
export interface Percentiles {
  p50: number;
  p99: number;
  min: number;
  max: number;
}

/** One direction over some of its seconds. Rates are percent (0..100) of summed counts, never averages of rates. */
export interface WindowSummary {
  /** Per-second rows summarised. */
  seconds: number;
  /** Σ probes_expected: probes settled as received or lost. */
  probes_expected: number;
  /** Σ probe_count. */
  probes_received: number;
  /** Σ lost (each second's loss_rate × probes_expected). */
  probes_lost: number;
  /** Σ late_count (arrived after Tmax: counted lost). */
  late_count: number;
  /** probes_lost / probes_expected × 100. */
  loss_rate: number;
  /** Seconds that expected probes and received none: every one of their probes counts in loss. */
  seconds_without_arrivals: number;
  /** Σ reordered (each second's reorder_rate × probe_count). */
  reordered: number;
  /** reordered / probes_received × 100. */
  reorder_rate: number;
  /** null when no second received a probe (or, for RTT, an echo). */
  delay_deviation_ms: Percentiles | null;
  rtt_ms: Percentiles | null;
  jitter_ms: Percentiles | null;
  /** Bulk goodput over the seconds that report it: mean = Σ bits / Σ seconds (each row is one second), max of the seconds. */
  throughput_bps: { mean: number; max: number; seconds: number } | null;
  /** Σ time the sender could not send: a pause, never loss. */
  sender_paused_ms: number;
  /** How p50/p99 were found: 'merged' per-second sketches, or 'per_second_approx' (a second with samples had none); null without samples. */
  percentiles: PercentileSource | null;
}

/** One direction of one connection: the whole survey, and idle (no bulk traffic) and loaded seconds apart. */
export interface DirectionSummary extends WindowSummary {
  first_ms: number | null;
  last_ms: number | null;
  idle: WindowSummary;
  loaded: WindowSummary;
  /**
   * Round trips per minute under load (draft-ietf-ippm-responsiveness): 60000 / the trimmed mean of the loaded
   * seconds' round trips, read from their merged RTT sketches; 60000 / loaded RTT p50 where a loaded second has no
   * sketch (`responsiveness_from` says which); null without loaded RTT.
   */
  responsiveness_rpm: number | null;
  responsiveness_from: ResponsivenessFrom | null;
}

export interface ConnectionSummary {
  conn_id: string;
  /** Measured by the relay (rows source 'server', direction 'c2s'). */
  c2s: DirectionSummary;
  /** Measured by the client and reported (rows source 'client', direction 's2c'). */
  s2c: DirectionSummary;
}

/** One second of one direction: its stats and when. */
export interface TimedStats {
  timestamp_ms: number;
  stats: DirectionStats;
}

const percentiles = (q: Quad): Percentiles => ({ p50: q[0], p99: q[1], min: q[2], max: q[3] });

/**
 * Summarises seconds by counts through aggregateStats (shared/stats/aggregate.ts):
 * loss Σ lost / Σ expected (a second with no arrivals counts all it expected),
 * reordering Σ reordered / Σ received. Percentiles of a window, from the seconds
 * that have samples (delay and jitter: probe_count > 0; RTT: an echo, max > 0):
 * p50/p99 of their merged sketches when every one carries them, else the median
 * (nearest rank) of the seconds' p50s and the largest p99 (`percentiles` says
 * which); min = the smallest min, max = the largest max.
 */
export function summarizeWindows(list: readonly DirectionStats[]): WindowSummary {
  const agg = aggregateStats(list);
  const counts = list.map(windowCounts);
  const withData = list.some((s) => s.probe_count > 0);
  const withRtt = list.some((s) => s.rtt_ms[3] > 0);
  const tput = list.flatMap((s) => (s.throughput_bps === undefined ? [] : [s.throughput_bps]));
  return {
    seconds: list.length,
    probes_expected: agg.probes_expected ?? 0,
    probes_received: agg.probe_count,
    probes_lost: counts.reduce((n, c) => n + c.lost, 0),
    late_count: agg.late_count ?? 0,
    loss_rate: agg.loss_rate,
    seconds_without_arrivals: counts.filter((c) => c.received === 0 && c.expected > 0).length,
    reordered: counts.reduce((n, c) => n + c.reordered, 0),
    reorder_rate: agg.reorder_rate,
    delay_deviation_ms: withData && agg.delay_deviation_ms ? percentiles(agg.delay_deviation_ms) : null,
    rtt_ms: withRtt ? percentiles(agg.rtt_ms) : null,
    jitter_ms: withData ? percentiles(agg.jitter_ms) : null,
    throughput_bps: tput.length ? { mean: agg.throughput_bps ?? 0, max: Math.max(...tput), seconds: tput.length } : null,
    sender_paused_ms: agg.sender_paused_ms ?? 0,
    percentiles: agg.percentiles ?? null,
  };
}

/** A direction's summary from its seconds, oldest first. */
export function summarizeDirection(seconds: readonly TimedStats[]): DirectionSummary {
  const list = seconds.map((s) => s.stats);
  const split = splitByLoad(list);
  return {
    ...summarizeWindows(list),
    first_ms: seconds[0]?.timestamp_ms ?? null,
    last_ms: seconds.at(-1)?.timestamp_ms ?? null,
    idle: summarizeWindows(list.filter((s) => s.loaded !== true)),
    loaded: summarizeWindows(list.filter((s) => s.loaded === true)),
    responsiveness_rpm: split.responsiveness_rpm,
    responsiveness_from: split.responsiveness_from,
  };
}

/** A survey_metrics row back as the DirectionStats it was written from (shared/db/surveys.ts insertMetric); optional fields only where stored. */
export function metricRowToStats(r: Record<string, unknown>): DirectionStats {
  const n = (k: string) => Number(r[k] ?? 0);
  const quad = (p: string): Quad => [n(`${p}_p50_ms`), n(`${p}_p99_ms`), n(`${p}_min_ms`), n(`${p}_max_ms`)];
  const opt = <K extends string>(k: K) => (r[k] == null ? {} : ({ [k]: Number(r[k]) } as Record<K, number>));
  return {
    // Stored NULL: the window had no baseline yet.
    delay_deviation_ms: r.delay_p50_ms == null ? null : quad('delay'),
    rtt_ms: quad('rtt'),
    jitter_ms: quad('jitter'),
    loss_rate: n('loss_rate'),
    reorder_rate: n('reorder_rate'),
    probe_count: n('probe_count'),
    baseline_delay_ms: n('baseline_delay_ms'),
    ...opt('probes_expected'),
    ...opt('late_count'),
    ...opt('sender_paused_ms'),
    ...opt('throughput_bps'),
    ...opt('loss_tmax_ms'),
    ...opt('window_index'),
    ...opt('lost_count'),
    ...(r.loaded == null ? {} : { loaded: Number(r.loaded) !== 0 }),
    ...(r.delay_sketch == null || r.ipdv_sketch == null || r.rtt_sketch == null
      ? {}
      : { sketches: { delay: String(r.delay_sketch), ipdv: String(r.ipdv_sketch), rtt: String(r.rtt_sketch) }, sketch_format: String(r.sketch_format ?? '') }),
  };
}

/** Groups rows (oldest first) into connections in order of first appearance; each direction's rows are the measuring side's: server/c2s, client/s2c. */
export function summarizeConnections(rows: readonly Record<string, unknown>[]): ConnectionSummary[] {
  const byConn = new Map<string, { c2s: TimedStats[]; s2c: TimedStats[] }>();
  for (const r of rows) {
    const dir = r.source === 'server' && r.direction === 'c2s' ? 'c2s' : r.source === 'client' && r.direction === 's2c' ? 's2c' : null;
    if (!dir) continue;
    const conn = String(r.conn_id ?? '');
    let entry = byConn.get(conn);
    if (!entry) byConn.set(conn, (entry = { c2s: [], s2c: [] }));
    entry[dir].push({ timestamp_ms: Number(r.timestamp_ms), stats: metricRowToStats(r) });
  }
  return [...byConn].map(([conn_id, d]) => ({ conn_id, c2s: summarizeDirection(d.c2s), s2c: summarizeDirection(d.s2c) }));
}
