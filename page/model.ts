import { aggregateStats, emptyDirectionStats, type DirectionStats } from '../shared/stats/index.js';

/** One second of a survey, all connections merged. */
export interface Second {
  at_ms: number;
  c2s: DirectionStats;
  s2c: DirectionStats;
  /** Bulk bytes per second each way. */
  c2s_bps: number;
  s2c_bps: number;
}

export interface WindowSummary {
  c2s: DirectionStats;
  s2c: DirectionStats;
  c2s_bps: number;
  s2c_bps: number;
}

export const WINDOWS = { '1s': 1, '10s': 10, '60s': 60 } as const;
export type WindowName = keyof typeof WINDOWS;

const KEEP_SECONDS = 600;

/** The survey's per-second history, bounded; what the charts and the summary table read. */
export interface History {
  seconds: Second[];
}

export function createHistory(): History {
  return { seconds: [] };
}

/** Merges one tick's per-connection stats into a Second and appends it. */
export function pushTick(h: History, atMs: number, perConn: { c2s: DirectionStats; s2c: DirectionStats; c2s_bps: number; s2c_bps: number }[]): Second {
  const sec: Second = {
    at_ms: atMs,
    c2s: perConn.length === 1 ? perConn[0]!.c2s : aggregateStats(perConn.map((p) => p.c2s)),
    s2c: perConn.length === 1 ? perConn[0]!.s2c : aggregateStats(perConn.map((p) => p.s2c)),
    c2s_bps: perConn.reduce((n, p) => n + p.c2s_bps, 0),
    s2c_bps: perConn.reduce((n, p) => n + p.s2c_bps, 0),
  };
  h.seconds.push(sec);
  if (h.seconds.length > KEEP_SECONDS) h.seconds.shift();
  return sec;
}

/** The summary of the last `window` seconds (aggregateStats' definitions; throughput is the mean). */
export function summarize(h: History, window: WindowName): WindowSummary {
  const last = h.seconds.slice(-WINDOWS[window]);
  if (last.length === 0) return { c2s: emptyDirectionStats(), s2c: emptyDirectionStats(), c2s_bps: 0, s2c_bps: 0 };
  const mean = (pick: (s: Second) => number) => last.reduce((n, s) => n + pick(s), 0) / last.length;
  return {
    c2s: aggregateStats(last.map((s) => s.c2s)),
    s2c: aggregateStats(last.map((s) => s.s2c)),
    c2s_bps: mean((s) => s.c2s_bps),
    s2c_bps: mean((s) => s.s2c_bps),
  };
}

/** The table's rows: a label, the stat's name for data-metric, and how to read it from a summary. */
export const METRICS: { id: string; label: string; unit: string; read: (d: DirectionStats, bps: number) => number; digits: number }[] = [
  { id: 'probe_count', label: 'Probes', unit: '', read: (d) => d.probe_count, digits: 0 },
  { id: 'loss_rate', label: 'Loss', unit: '%', read: (d) => d.loss_rate, digits: 2 },
  { id: 'reorder_rate', label: 'Reordering', unit: '%', read: (d) => d.reorder_rate, digits: 2 },
  { id: 'delay_p50', label: 'Delay variation p50', unit: 'ms', read: (d) => d.delay_deviation_ms[0], digits: 3 },
  { id: 'delay_p99', label: 'Delay variation p99', unit: 'ms', read: (d) => d.delay_deviation_ms[1], digits: 3 },
  { id: 'jitter_p50', label: 'Jitter p50', unit: 'ms', read: (d) => d.jitter_ms[0], digits: 3 },
  { id: 'jitter_p99', label: 'Jitter p99', unit: 'ms', read: (d) => d.jitter_ms[1], digits: 3 },
  { id: 'rtt_p50', label: 'RTT p50', unit: 'ms', read: (d) => d.rtt_ms[0], digits: 3 },
  { id: 'rtt_p99', label: 'RTT p99', unit: 'ms', read: (d) => d.rtt_ms[1], digits: 3 },
  { id: 'throughput', label: 'Throughput', unit: 'Mbit/s', read: (_d, bps) => (bps * 8) / 1e6, digits: 2 },
];
