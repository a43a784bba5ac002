// Reduces one level's measurements to its figures: counts held against counts over the same span, never averaged rates.
import { aggregateStats, windowCounts } from '../shared/stats/aggregate.js';
import type { DirectionStats } from '../shared/stats/direction-stats.js';
import { nearestRank } from '../shared/stats/percentiles.js';
import type { Records, Usage, WindowRecord } from './capacity-messages.js';
import type { RelayScrape } from './relay-scrape.js';

/** Probes per second each side sends on a session (PROTOCOL.md: one every 10 ms). */
export const PROBES_PER_SECOND = 100;

/** One direction over the measured span: what its sender sent, what its receiver counted, and its loss. */
export interface DirectionFigures {
  sent: number;
  received: number;
  /** Σ lost ÷ Σ expected over the receiver's windows in the span, in percent. */
  lossPct: number;
  /** Median over session-seconds of each window's delay-variation p99 (ms); null without data. */
  delayP99Ms: number | null;
  /** The relay's own total over the span from its /metrics (s2c sent, c2s received): read at the scrapes, so off by their timing. */
  relayTotal: number;
}

/** The machine's CPU times and the client workers' own CPU at one end of a span. */
export interface MachineEdge {
  busyMs: number;
  totalMs: number;
  cores: number;
  clientCpuUs: number;
}

/** How busy the whole machine was over the span (every process, others' too), and how many cores the client workers took. */
export interface MachineShare {
  busyPct: number;
  clientCores: number;
  cores: number;
}

/** The machine's share over a span from its two ends. */
export function machineShare(start: MachineEdge, end: MachineEdge, spanSeconds: number): MachineShare {
  const total = end.totalMs - start.totalMs;
  return {
    busyPct: total > 0 ? (100 * (end.busyMs - start.busyMs)) / total : 0,
    clientCores: (end.clientCpuUs - start.clientCpuUs) / 1e6 / spanSeconds,
    cores: end.cores,
  };
}

export interface RelayLevelFigures {
  sessions: number;
  spanSeconds: number;
  cpuMsPerSessionSecond: number;
  /** RSS growth over the idle relay, less the capture memory it held, per session. */
  rssBytesPerSession: number;
  captureBytesPerSession: number;
  lagP99Ms: number;
  c2s: DirectionFigures;
  s2c: DirectionFigures;
  /** Sessions the relay had streaming at the start and at the end of the span. */
  streaming: [number, number];
  machine?: MachineShare;
}

export interface BareLevelFigures {
  sessions: number;
  spanSeconds: number;
  cpuMsPerSessionSecond: number;
  c2sLossPct: number;
  s2cLossPct: number;
  /** The echo process's event-loop lag p99 over the span (as the relay's is read), when its worker reported it. */
  lagP99Ms?: number;
  machine?: MachineShare;
}

function median(values: number[]): number | null {
  return values.length ? nearestRank(values.sort((a, b) => a - b), 50) : null;
}

/** Loss over windows by counts (aggregateStats), in percent; 0 without windows. */
function lossOf(windows: readonly DirectionStats[]): number {
  return windows.length ? aggregateStats(windows).loss_rate : 0;
}

/** The median over windows with data of each window's delay-variation p99. */
function delayOf(windows: readonly DirectionStats[]): number | null {
  return median(windows.flatMap((s) => (s.probe_count > 0 && s.delay_deviation_ms ? [s.delay_deviation_ms[1]] : [])));
}

/**
 * A cumulative count at instant `t`, from the (time, count-so-far) points one
 * session reported once a second: linear between the two points around `t`
 * (probes flow at a steady rate within a second), the last point's count after
 * it (nothing came after), and 0 before the first with nothing to hold to.
 */
export function countAt(points: readonly { at: number; total: number }[], t: number): number {
  let prev: { at: number; total: number } | null = null;
  for (const p of points) {
    if (p.at >= t) {
      if (!prev) return p.at === t ? p.total : 0;
      return prev.total + ((p.total - prev.total) * (t - prev.at)) / (p.at - prev.at);
    }
    prev = p;
  }
  return prev?.total ?? 0;
}

/**
 * Σ over sessions of a count's growth from `from` to `to`. Each point is one
 * session's report: `total` a running total already (a sender's count), or
 * with `add` what one window added (a receiver's window).
 */
export function grownBetween(points: readonly { session: string; at: number; total?: number; add?: number }[], from: number, to: number): number {
  const bySession = new Map<string, { at: number; total?: number; add?: number }[]>();
  for (const p of points) {
    const list = bySession.get(p.session);
    if (list) list.push(p);
    else bySession.set(p.session, [p]);
  }
  let grown = 0;
  for (const list of bySession.values()) {
    list.sort((a, b) => a.at - b.at);
    let running = 0;
    const series = list.map((p) => ({ at: p.at, total: (running = p.total ?? running + (p.add ?? 0)) }));
    grown += countAt(series, to) - countAt(series, from);
  }
  return Math.round(grown);
}

/** One direction over the span: its sender's counts and its receiver's windows, per session, at the span's ends. */
function direction(records: Records, d: 'c2s' | 's2c', from: number, to: number, relayTotal: number): DirectionFigures {
  const windows = records.windows.filter((w) => w.direction === d);
  const inside = windows.filter((w) => w.at > from && w.at <= to).map((w) => w.stats);
  return {
    sent: grownBetween(records.sent.filter((r) => r.direction === d).map((r) => ({ session: r.session, at: r.at, total: r.sent })), from, to),
    received: grownBetween(windows.map((w) => ({ session: w.session, at: w.at, add: windowCounts(w.stats).received })), from, to),
    lossPct: lossOf(inside),
    delayP99Ms: delayOf(inside),
    relayTotal,
  };
}

/**
 * One relay level. The span is the one between the two scrapes: the relay's
 * own CPU, RSS and lag are read at them; the counts each way are each
 * session's running counts at the same instants — the sender's own (the
 * client's probe sends; the relay's sender_report) against the receiver's
 * windows (the relay's c2s windows as they reach the client; the client's s2c).
 */
export function relayLevelFigures(n: number, idle: RelayScrape, start: RelayScrape, end: RelayScrape, records: Records): RelayLevelFigures {
  const spanSeconds = (end.at - start.at) / 1000;
  return {
    sessions: n,
    spanSeconds,
    cpuMsPerSessionSecond: ((end.cpuSeconds - start.cpuSeconds) * 1000) / (n * spanSeconds),
    rssBytesPerSession: (end.rssBytes - idle.rssBytes - end.captureHeldBytes) / n,
    captureBytesPerSession: end.captureHeldBytes / n,
    lagP99Ms: end.lagP99Seconds * 1000,
    c2s: direction(records, 'c2s', start.at, end.at, end.c2sReceived - start.c2sReceived),
    s2c: direction(records, 's2c', start.at, end.at, end.probesSent - start.probesSent),
    streaming: [start.streaming, end.streaming],
  };
}

/** One bare level: the echo's own CPU between two usage reads, and the loss both sides counted in its windows over that span. */
export function bareLevelFigures(n: number, start: Usage, end: Usage, windows: readonly WindowRecord[]): BareLevelFigures {
  const spanSeconds = (end.at - start.at) / 1000;
  const inside = (d: 'c2s' | 's2c') => windows.filter((w) => w.direction === d && w.at > start.at && w.at <= end.at).map((w) => w.stats);
  return {
    sessions: n,
    spanSeconds,
    cpuMsPerSessionSecond: (end.cpu_us - start.cpu_us) / 1000 / (n * spanSeconds),
    c2sLossPct: lossOf(inside('c2s')),
    s2cLossPct: lossOf(inside('s2c')),
    ...(end.lag_p99_ms !== undefined ? { lagP99Ms: end.lag_p99_ms } : {}),
  };
}
