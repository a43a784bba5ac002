import { aggregateStats, emptyDirectionStats, splitByLoad, type DirectionStats } from '../shared/stats/index.js';

/** One second of a survey, all connections merged by counts. */
export interface Second {
  at_ms: number;
  /** The window index of this second (the same on every connection's side that computed it). */
  index?: number;
  /** The relay's windows of this second's index; null while none has come (a gap, not zeros). */
  c2s: DirectionStats | null;
  s2c: DirectionStats;
  /** Time this page could not keep its probe schedule in this second (a hidden tab the browser throttled). */
  paused_ms: number;
  /** Bulk bytes per second each way. */
  c2s_bps: number;
  s2c_bps: number;
}

export interface WindowSummary {
  c2s: DirectionStats;
  s2c: DirectionStats;
  c2s_bps: number;
  s2c_bps: number;
  /** RTT p50 of unloaded and loaded seconds apart (RPM, from the samples themselves, is beside the table). */
  rtt_idle_ms: number;
  rtt_loaded_ms: number;
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

/** Merges one tick's per-connection stats into a Second (by counts) and appends it. */
export function pushTick(h: History, atMs: number, perConn: { c2s: DirectionStats | null; s2c: DirectionStats; c2s_bps: number; s2c_bps: number; paused_ms: number }[], index?: number): Second {
  const c2s = perConn.flatMap((p) => (p.c2s ? [p.c2s] : []));
  const sec: Second = {
    at_ms: atMs,
    ...(index !== undefined ? { index } : {}),
    // Kept mergeable: the 10 s and 60 s columns merge these seconds' sketches.
    c2s: c2s.length === 0 ? null : c2s.length === 1 ? c2s[0]! : aggregateStats(c2s, { keepSketches: true }),
    s2c: perConn.length === 1 ? perConn[0]!.s2c : aggregateStats(perConn.map((p) => p.s2c), { keepSketches: true }),
    paused_ms: Math.max(0, ...perConn.map((p) => p.paused_ms)),
    c2s_bps: perConn.reduce((n, p) => n + p.c2s_bps, 0),
    s2c_bps: perConn.reduce((n, p) => n + p.s2c_bps, 0),
  };
  h.seconds.push(sec);
  if (h.seconds.length > KEEP_SECONDS) h.seconds.shift();
  return sec;
}

/** A relay window that came after its second was shown joins that second (by counts with other connections'); false if the second is gone. */
export function fillRelayWindow(h: History, index: number, c2s: DirectionStats): boolean {
  const sec = h.seconds.find((s) => s.index === index);
  if (!sec) return false;
  sec.c2s = sec.c2s ? aggregateStats([sec.c2s, c2s]) : c2s;
  return true;
}

/** The summary of the last `window` seconds: counts summed (aggregateStats), throughput the mean, RTT idle and under load apart. */
export function summarize(h: History, window: WindowName): WindowSummary {
  const last = h.seconds.slice(-WINDOWS[window]);
  const empty = { c2s: emptyDirectionStats(), s2c: emptyDirectionStats(), c2s_bps: 0, s2c_bps: 0, rtt_idle_ms: 0, rtt_loaded_ms: 0 };
  if (last.length === 0) return empty;
  // Throughput is the mean of the seconds the load connection carried traffic in, never diluted by idle ones.
  const loaded = last.filter((s) => s.s2c.loaded === true || s.c2s?.loaded === true);
  const mean = (pick: (s: Second) => number) => (loaded.length ? loaded.reduce((n, s) => n + pick(s), 0) / loaded.length : 0);
  // RTT samples come from both directions' echoes; the client's own (s2c) side sees its probes' round trips.
  const load = splitByLoad(last.flatMap((s) => [s.s2c, ...(s.c2s ? [s.c2s] : [])]));
  return {
    c2s: aggregateStats(last.flatMap((s) => (s.c2s ? [s.c2s] : []))),
    s2c: aggregateStats(last.map((s) => s.s2c)),
    c2s_bps: mean((s) => s.c2s_bps),
    s2c_bps: mean((s) => s.s2c_bps),
    rtt_idle_ms: load.idle.rtt_ms[0],
    rtt_loaded_ms: load.loaded.rtt_ms[0],
  };
}

/** Milliseconds of the last `seconds` in which the page could not keep its schedule. */
export function pausedMs(h: History, seconds: number): number {
  return h.seconds.slice(-seconds).reduce((n, s) => n + s.paused_ms, 0);
}

/** The table's rows: a label, the stat's name for data-metric, and how to read it from a summary. */
export const METRICS: { id: string; label: string; unit: string; read: (d: DirectionStats, bps: number, w: WindowSummary) => number | null; digits: number }[] = [
  { id: 'probe_count', label: 'Probes', unit: '', read: (d) => d.probe_count, digits: 0 },
  { id: 'loss_rate', label: 'Loss', unit: '%', read: (d) => d.loss_rate, digits: 2 },
  { id: 'reorder_rate', label: 'Reordering', unit: '%', read: (d) => d.reorder_rate, digits: 2 },
  { id: 'delay_p50', label: 'Delay variation p50', unit: 'ms', read: (d) => d.delay_deviation_ms?.[0] ?? null, digits: 3 },
  { id: 'delay_p99', label: 'Delay variation p99', unit: 'ms', read: (d) => d.delay_deviation_ms?.[1] ?? null, digits: 3 },
  { id: 'jitter_p50', label: 'Jitter p50', unit: 'ms', read: (d) => d.jitter_ms[0], digits: 3 },
  { id: 'jitter_p99', label: 'Jitter p99', unit: 'ms', read: (d) => d.jitter_ms[1], digits: 3 },
  { id: 'rtt_p50', label: 'RTT p50', unit: 'ms', read: (d) => d.rtt_ms[0], digits: 3 },
  { id: 'rtt_p99', label: 'RTT p99', unit: 'ms', read: (d) => d.rtt_ms[1], digits: 3 },
  { id: 'throughput', label: 'Throughput', unit: 'Mbit/s', read: (_d, bps) => (bps * 8) / 1e6, digits: 2 },
  { id: 'rtt_idle', label: 'RTT p50 idle', unit: 'ms', read: (_d, _b, w) => w.rtt_idle_ms, digits: 3 },
  { id: 'rtt_loaded', label: 'RTT p50 under load', unit: 'ms', read: (_d, _b, w) => w.rtt_loaded_ms, digits: 3 },
];
