// What the forwarder really did to the probe connection while the throughput test loaded the path: the truth under load.
import { nearestRank } from '../shared/stats/percentiles.js';
import type { ForwarderLog } from './forwarder.js';

/** The part of a client's per-second stats event the load truth reads (a StatsEvent fits it). */
export interface LoadSecond {
  timestamp_ms: number;
  final?: boolean;
  s2c: { loaded?: boolean };
  throughput?: { s2c_bytes_per_s: number };
}

export interface LoadTruth {
  /** Timestamps of the seconds fully under load: loaded, between two loaded ones, not the survey's last. */
  loadedSeconds: number[];
  /** NetPoke's download goodput in each of them (Mbit/s). */
  goodputMbps: number[];
  /** Mbit/s of load-connection datagrams the forwarder delivered towards the client in each of them (UDP payload). */
  carriedMbps: number[];
  /** Per direction, the median and mean time the forwarder held the probe connection's datagrams beyond the fixed delay. */
  queued: Record<'c2s' | 's2c', { p50: number; mean: number; samples: number }>;
  /** The same hold in the unloaded seconds before the load (the idle baseline's seconds). */
  idleQueued: Record<'c2s' | 's2c', { p50: number; mean: number; samples: number }>;
  /** The idle round trip's truth: the path's fixed delay both ways plus the forwarder's idle hold, p50 each way. */
  idleRttP50Ms: number;
  /** queued s2c p50 + c2s p50. */
  queueP50Ms: number;
  /** The loaded round trip's truth: idle RTT p50 + queueP50Ms. */
  rttP50Ms: number;
  /** 60000 / (idle RTT p50 + both directions' mean hold): a drop-tail queue bounds the hold, so there is little to trim. */
  rpm: number;
  /** Datagrams the bottleneck's full queue dropped, both directions. */
  tailDrops: number;
}

const median = (xs: readonly number[]) => nearestRank([...xs].sort((a, b) => a - b), 50);
const mean = (xs: readonly number[]) => (xs.length ? xs.reduce((n, x) => n + x, 0) / xs.length : 0);

/**
 * The truth of a loaded survey. Each second's stats event is stamped at the
 * end of the second it covers; the forwarder's log is on its own process's
 * clock, put on the epoch by its timeOriginMs. A probe-connection datagram
 * (DTLS application data not of the load) that arrived within a fully loaded
 * second counts for what the forwarder held it beyond `oneWayMs`: its queue
 * behind the load, and its own timers running late on a busy machine (delay
 * the probes really met). `idleRttP50Ms` is the path beyond the queue, as
 * NetPoke measured it before the load.
 */
export function loadTruth(log: Pick<ForwarderLog, 'c2s' | 's2c' | 'timeOriginMs'>, seconds: readonly LoadSecond[], idleRttP50Ms: number, oneWayMs: number): LoadTruth {
  const whole = seconds.filter((s) => !s.final);
  const loaded = whole.filter((s, i) => s.s2c.loaded && whole[i - 1]?.s2c.loaded && whole[i + 1]?.s2c.loaded);
  const origin = log.timeOriginMs ?? 0;
  const spansOf = (xs: readonly LoadSecond[]) => xs.map((s) => [s.timestamp_ms - 1000, s.timestamp_ms] as const);
  const spans = spansOf(loaded);
  const firstLoaded = whole.findIndex((s) => s.s2c.loaded);
  // A survey never loaded is idle throughout.
  const idleSpans = spansOf(firstLoaded < 0 ? whole : whole.slice(0, firstLoaded));
  const within = (ss: readonly (readonly [number, number])[]) => (atMs: number) => ss.some(([a, b]) => origin + atMs >= a && origin + atMs < b);
  const held = (dir: 'c2s' | 's2c', inSpan: (atMs: number) => boolean) =>
    log[dir].filter((r) => !r.load && r.kind === 'dtls-app' && r.sentAtMs !== null && inSpan(r.atMs)).map((r) => r.sentAtMs! - r.atMs - oneWayMs);
  const heldStats = (xs: number[]) => ({ p50: median(xs), mean: mean(xs), samples: xs.length });
  const inLoad = within(spans);
  const inIdle = within(idleSpans);
  const queued = { c2s: heldStats(held('c2s', inLoad)), s2c: heldStats(held('s2c', inLoad)) };
  const idleQueued = { c2s: heldStats(held('c2s', inIdle)), s2c: heldStats(held('s2c', inIdle)) };
  const carriedMbps = spans.map(([a, b]) => {
    const bytes = log.s2c.reduce((n, r) => (r.load && r.sentAtMs !== null && origin + r.sentAtMs >= a && origin + r.sentAtMs < b ? n + r.size : n), 0);
    return (bytes * 8) / ((b - a) * 1000);
  });
  const queueP50Ms = queued.s2c.p50 + queued.c2s.p50;
  return {
    loadedSeconds: loaded.map((s) => s.timestamp_ms),
    goodputMbps: loaded.map((s) => ((s.throughput?.s2c_bytes_per_s ?? 0) * 8) / 1e6),
    carriedMbps,
    queued,
    idleQueued,
    idleRttP50Ms: 2 * oneWayMs + idleQueued.c2s.p50 + idleQueued.s2c.p50,
    queueP50Ms,
    rttP50Ms: idleRttP50Ms + queueP50Ms,
    rpm: 60_000 / (idleRttP50Ms + queued.s2c.mean + queued.c2s.mean),
    tailDrops: [...log.c2s, ...log.s2c].filter((r) => r.tailDropped).length,
  };
}
