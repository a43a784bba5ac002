import type { DirectionStats } from './direction-stats.js';
import { emptyDirectionStats } from './direction-stats.js';
import { nearestRank, type Quad } from './percentiles.js';

/** The counts behind one window's rates (PROTOCOL.md §2): what every longer window is summed from. */
export interface WindowCounts {
  lost: number;
  expected: number;
  received: number;
  reordered: number;
  late: number;
  pausedMs: number;
}

/**
 * Recovers a window's counts from its stats. `probes_expected` is exact when
 * present; an older peer's stats without it give expected = received / (1 − loss).
 */
export function windowCounts(s: DirectionStats): WindowCounts {
  const expected = s.probes_expected ?? (s.loss_rate < 100 ? Math.round(s.probe_count / (1 - s.loss_rate / 100)) : 0);
  return {
    lost: s.lost_count ?? Math.round((s.loss_rate / 100) * expected),
    expected,
    received: s.probe_count,
    reordered: Math.round((s.reorder_rate / 100) * s.probe_count),
    late: s.late_count ?? 0,
    pausedMs: s.sender_paused_ms ?? 0,
  };
}

/**
 * Summarises per-window stats over a longer window (10 s, 60 s, a survey,
 * several connections) by counts, never by averaging rates: loss is
 * Σ lost / Σ expected over every window — one in which nothing arrived still
 * counts what it expected — and reordering Σ reordered / Σ received.
 * Percentiles cannot be merged exactly, so over the windows with data:
 * p50 = median of the p50s, p99 = the largest p99 (never hides a bad
 * second), min of mins, max of maxes. Delay deviation merges only the
 * windows that had a baseline: null when none had. The baseline is the latest seen.
 */
export function aggregateStats(list: readonly DirectionStats[]): DirectionStats {
  const counts = list.map(windowCounts);
  const sum = (pick: (c: WindowCounts) => number) => counts.reduce((n, c) => n + pick(c), 0);
  const expected = sum((c) => c.expected);
  const received = sum((c) => c.received);
  const withData = list.filter((s) => s.probe_count > 0);
  const deviations = withData.flatMap((s) => (s.delay_deviation_ms ? [s.delay_deviation_ms] : []));
  const withRtt = list.filter((s) => s.rtt_ms[3] > 0);
  const withThroughput = list.filter((s) => s.throughput_bps !== undefined);
  const tmax = list.find((s) => s.loss_tmax_ms !== undefined)?.loss_tmax_ms;
  if (list.length === 0) return emptyDirectionStats();
  return {
    delay_deviation_ms: withData.length > 0 && deviations.length === 0 ? null : mergeQuads(deviations),
    rtt_ms: mergeQuads(withRtt.map((s) => s.rtt_ms)),
    jitter_ms: mergeQuads(withData.map((s) => s.jitter_ms)),
    loss_rate: expected ? (sum((c) => c.lost) / expected) * 100 : 0,
    reorder_rate: received ? (sum((c) => c.reordered) / received) * 100 : 0,
    probe_count: received,
    baseline_delay_ms: (withData.at(-1) ?? list.at(-1))!.baseline_delay_ms,
    ...(tmax !== undefined ? { loss_tmax_ms: tmax } : {}),
    probes_expected: expected,
    lost_count: sum((c) => c.lost),
    late_count: sum((c) => c.late),
    sender_paused_ms: sum((c) => c.pausedMs),
    loaded: list.some((s) => s.loaded === true),
    ...(withThroughput.length ? { throughput_bps: withThroughput.reduce((n, s) => n + s.throughput_bps!, 0) / withThroughput.length } : {}),
  };
}

function mergeQuads(quads: readonly Quad[]): Quad {
  if (quads.length === 0) return [0, 0, 0, 0];
  const p50s = quads.map((q) => q[0]).sort((a, b) => a - b);
  return [nearestRank(p50s, 50), Math.max(...quads.map((q) => q[1])), Math.min(...quads.map((q) => q[2])), Math.max(...quads.map((q) => q[3]))];
}

/** Idle latency and latency under load, side by side: the same aggregation over unloaded and loaded windows apart. */
export interface LoadSplit {
  idle: DirectionStats;
  loaded: DirectionStats;
  /** Round trips per minute under load (IETF responsiveness): 60000 / loaded RTT p50 ms; null without loaded RTT samples. */
  responsiveness_rpm: number | null;
}

/** Splits windows by their `loaded` flag and aggregates each side. */
export function splitByLoad(list: readonly DirectionStats[]): LoadSplit {
  const loaded = aggregateStats(list.filter((s) => s.loaded === true));
  const rtt = loaded.rtt_ms[0];
  return {
    idle: aggregateStats(list.filter((s) => s.loaded !== true)),
    loaded,
    responsiveness_rpm: rtt > 0 ? 60_000 / rtt : null,
  };
}
