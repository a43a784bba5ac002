// What the forwarder really did to one direction, from its own log: the truth NetPoke's numbers are held against.
import { nearestRank } from '../shared/stats/percentiles.js';
import type { DatagramRecord } from './forwarder.js';

export interface DirectionTruth {
  /** Every datagram, handshakes and pure SCTP control included. */
  datagrams: number;
  /** Datagrams that were impairable (armed, probe-sized application data): the truth's denominator. */
  seen: number;
  forwarded: number;
  dropped: number;
  /** Held back for the next one to overtake. */
  held: number;
  /** Impairable datagrams that left after one that arrived later (RFC 4737 over the forwarder's own arrival order). */
  reordered: number;
  lossPct: number;
  /** Delay applied to each forwarded impairable datagram (departure − arrival), in arrival order. */
  appliedMs: number[];
  applied: { p50: number; p99: number; mean: number };
  /** |Δ applied delay| of consecutive impairable arrivals, both forwarded (RFC 5481 IPDV, absolute). */
  ipdv: { p50: number; p99: number };
  /** Applied delay minus its 5th percentile (NetPoke's baseline is likewise a low percentile of the delay). */
  deviation: { p50: number; p99: number };
}

const sortNum = (xs: readonly number[]) => [...xs].sort((a, b) => a - b);

/** Computes one direction's truth from the forwarder's records. */
export function directionTruth(log: readonly DatagramRecord[]): DirectionTruth {
  const imp = log.filter((r) => r.impairable);
  const fwd = imp.filter((r) => r.out !== null && r.sentAtMs !== null);
  const dropped = imp.filter((r) => r.dropped).length;
  // RFC 4737 on departures: a datagram is reordered if one that arrived after it already left.
  let maxArrival = -1;
  let reordered = 0;
  for (const r of [...fwd].sort((a, b) => a.out! - b.out!)) {
    if (r.i < maxArrival) reordered++;
    else maxArrival = r.i;
  }
  const appliedMs = fwd.map((r) => r.sentAtMs! - r.atMs);
  const ipdv: number[] = [];
  for (let k = 1; k < imp.length; k++) {
    const [a, b] = [imp[k - 1]!, imp[k]!];
    if (a.sentAtMs !== null && b.sentAtMs !== null) ipdv.push(Math.abs(b.sentAtMs - b.atMs - (a.sentAtMs - a.atMs)));
  }
  const sorted = sortNum(appliedMs);
  const base = nearestRank(sorted, 5);
  const sortedIpdv = sortNum(ipdv);
  return {
    datagrams: log.length,
    seen: imp.length,
    forwarded: fwd.length,
    dropped,
    held: imp.filter((r) => r.held).length,
    reordered,
    lossPct: imp.length ? (dropped / imp.length) * 100 : 0,
    appliedMs,
    applied: { p50: nearestRank(sorted, 50), p99: nearestRank(sorted, 99), mean: appliedMs.reduce((n, x) => n + x, 0) / (appliedMs.length || 1) },
    ipdv: { p50: nearestRank(sortedIpdv, 50), p99: nearestRank(sortedIpdv, 99) },
    deviation: { p50: nearestRank(sorted, 50) - base, p99: nearestRank(sorted, 99) - base },
  };
}

/** Quantiles of the delay distribution used to convolve the two directions (199 × 199 sums). */
const GRID = 200;

/**
 * The round trip the forwarder imposed. An RTT sample is one s2c probe's
 * delay plus the delay of the c2s probe that echoes it (or the other way
 * round), drawn independently; so the truth is the median of the sum of the
 * two distributions (convolved on a quantile grid), and the sum of the means.
 */
export function roundTripTruth(c2s: DirectionTruth, s2c: DirectionTruth): { p50: number; meanSum: number } {
  const qa = quantileGrid(c2s.appliedMs);
  const qb = quantileGrid(s2c.appliedMs);
  const sums: number[] = [];
  for (const a of qa) for (const b of qb) sums.push(a + b);
  return { p50: nearestRank(sortNum(sums), 50), meanSum: c2s.applied.mean + s2c.applied.mean };
}

function quantileGrid(xs: readonly number[]): number[] {
  const sorted = sortNum(xs);
  return Array.from({ length: GRID - 1 }, (_, k) => nearestRank(sorted, ((k + 1) / GRID) * 100));
}
