import type { DirectionStats } from './direction-stats.js';
import { emptyDirectionStats } from './direction-stats.js';
import { nearestRank, type Quad } from './percentiles.js';

/**
 * Summarises per-second stats over a longer window (the page's 10 s / 60 s
 * columns, the CLI's summary). Per-second percentiles cannot be merged
 * exactly, so: p50 = median of the seconds' p50s, p99 = the largest p99
 * (conservative: never hides a bad second), min of mins, max of maxes.
 * Seconds without probes are left out of the delay/jitter/RTT quads; loss
 * and reorder rates are weighted by probe_count; the baseline is the latest.
 */
export function aggregateStats(list: readonly DirectionStats[]): DirectionStats {
  const withData = list.filter((s) => s.probe_count > 0);
  if (withData.length === 0) return { ...emptyDirectionStats(), baseline_delay_ms: list.at(-1)?.baseline_delay_ms ?? 0 };
  const merge = (pick: (s: DirectionStats) => Quad, from = withData): Quad => {
    if (from.length === 0) return [0, 0, 0, 0];
    const p50s = from.map((s) => pick(s)[0]).sort((a, b) => a - b);
    return [
      nearestRank(p50s, 50),
      Math.max(...from.map((s) => pick(s)[1])),
      Math.min(...from.map((s) => pick(s)[2])),
      Math.max(...from.map((s) => pick(s)[3])),
    ];
  };
  const weight = withData.reduce((n, s) => n + s.probe_count, 0);
  const weighted = (pick: (s: DirectionStats) => number) => withData.reduce((n, s) => n + pick(s) * s.probe_count, 0) / weight;
  const withRtt = withData.filter((s) => s.rtt_ms[3] > 0);
  return {
    delay_deviation_ms: merge((s) => s.delay_deviation_ms),
    rtt_ms: merge((s) => s.rtt_ms, withRtt),
    jitter_ms: merge((s) => s.jitter_ms),
    loss_rate: weighted((s) => s.loss_rate),
    reorder_rate: weighted((s) => s.reorder_rate),
    probe_count: weight,
    baseline_delay_ms: withData.at(-1)!.baseline_delay_ms,
  };
}
