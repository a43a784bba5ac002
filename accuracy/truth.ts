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
  /** Dropped from `expectedFrom` on (all of them without it): the losses the receiver should count. */
  droppedExpected: number;
  /** Held back for the next one to overtake. */
  held: number;
  /** Impairable datagrams that left after one that arrived later (RFC 4737 over the forwarder's own arrival order). */
  reordered: number;
  lossPct: number;
  /**
   * Loss by application bytes, from `expectedFrom` on: dropped over impairable, each datagram less its DTLS and
   * SCTP headers. At 75 ms SCTP bundles 1–4 probes per datagram (293 to 1221 bytes seen), so a drop loses as many;
   * probes are of about one size, so this is the probe loss rate where the datagram rate is only near it.
   */
  lossBytesPct: number;
  /** Delay applied to each forwarded impairable datagram (departure − arrival), in arrival order. */
  appliedMs: number[];
  applied: { p50: number; p99: number };
  /** |Δ applied delay| of consecutive impairable arrivals, both forwarded (RFC 5481 IPDV, absolute). */
  ipdv: { p50: number; p99: number };
  /** Applied delay minus its 5th percentile (NetPoke's baseline is likewise a low percentile of the delay). */
  deviation: { p50: number; p99: number };
}

/** DTLS 1.2 record header with AES-GCM's explicit nonce and tag (13 + 8 + 16), and SCTP's common header (12). */
const DATAGRAM_OVERHEAD_BYTES = 49;

const sortNum = (xs: readonly number[]) => [...xs].sort((a, b) => a - b);

/** Computes one direction's truth from the forwarder's records; `expectedFrom` (forwarder ms) is when the receiver began listening. */
export function directionTruth(log: readonly DatagramRecord[], expectedFrom = -Infinity): DirectionTruth {
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
  const payload = (rs: readonly DatagramRecord[]) => rs.reduce((n, r) => n + Math.max(0, r.size - DATAGRAM_OVERHEAD_BYTES), 0);
  const expected = imp.filter((r) => r.atMs >= expectedFrom);
  const expectedBytes = payload(expected);
  return {
    datagrams: log.length,
    seen: imp.length,
    forwarded: fwd.length,
    dropped,
    droppedExpected: imp.filter((r) => r.dropped && r.atMs >= expectedFrom).length,
    held: imp.filter((r) => r.held).length,
    reordered,
    lossPct: imp.length ? (dropped / imp.length) * 100 : 0,
    lossBytesPct: expectedBytes ? (payload(expected.filter((r) => r.dropped)) / expectedBytes) * 100 : 0,
    appliedMs,
    applied: { p50: nearestRank(sorted, 50), p99: nearestRank(sorted, 99) },
    ipdv: { p50: nearestRank(sortedIpdv, 50), p99: nearestRank(sortedIpdv, 99) },
    deviation: { p50: nearestRank(sorted, 50) - base, p99: nearestRank(sorted, 99) - base },
  };
}

/** A probe's echo can only leave in a datagram that reached the forwarder this long after the probe left it (its hop on and the reply's hop back). */
const TURNAROUND_MS = 0.1;

/**
 * The round trip the forwarder imposed on each echo path: a probe that left
 * the forwarder towards one end is echoed in that end's next probe, the first
 * impairable datagram to arrive from it afterwards, so each round trip is the
 * probe's applied delay plus that datagram's (a dropped one means no sample,
 * as for NetPoke). Pooled over both directions, as the survey's RTT is.
 * Pairing datagrams, not convolving the two directions' delays as if they
 * were independent, matters under FIFO jitter: a burst of probes arriving at
 * one end makes it acknowledge ahead of its next probe, which then waits
 * longer in the other direction's FIFO, so the probes carrying many echoes
 * are the slow ones (at 25 ± 10 ms: 25.7 ms applied to relay probes carrying
 * no echo, 27.6 ms to those carrying two, against 26.3 ms for all).
 */
export function roundTripTruth(log: Readonly<Record<'c2s' | 's2c', readonly DatagramRecord[]>>): { p50: number; p99: number; mean: number; samples: number } {
  const sums: number[] = [];
  for (const [there, back] of [
    ['c2s', 's2c'],
    ['s2c', 'c2s'],
  ] as const) {
    const replies = log[back].filter((r) => r.impairable);
    for (const probe of log[there]) {
      if (!probe.impairable || probe.sentAtMs === null) continue;
      const reply = replies[firstAtOrAfter(replies, probe.sentAtMs + TURNAROUND_MS)];
      if (reply?.sentAtMs == null) continue;
      sums.push(probe.sentAtMs - probe.atMs + (reply.sentAtMs - reply.atMs));
    }
  }
  const sorted = sortNum(sums);
  return { p50: nearestRank(sorted, 50), p99: nearestRank(sorted, 99), mean: sums.reduce((n, x) => n + x, 0) / (sums.length || 1), samples: sums.length };
}

/** Index of the first record (in arrival order) that arrived at or after `t`. */
function firstAtOrAfter(records: readonly DatagramRecord[], t: number): number {
  let lo = 0;
  let hi = records.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (records[mid]!.atMs < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
