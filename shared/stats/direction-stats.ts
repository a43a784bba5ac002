import { createBaseline, currentBaseline, pushBaselineWindow, type BaselineState } from './baseline.js';
import { quad, type Quad } from './percentiles.js';

/** Stats of one direction over one report window (PROTOCOL.md §2 DirectionStats). */
export interface DirectionStats {
  delay_deviation_ms: Quad;
  rtt_ms: Quad;
  jitter_ms: Quad;
  /** Percent of the probes settled in this window that were lost. */
  loss_rate: number;
  /** Percent of the probes received in this window that arrived below the highest seq seen. */
  reorder_rate: number;
  probe_count: number;
  baseline_delay_ms: number;
  loss_tmax_ms?: number;
}

/** All-zero stats: what a direction reports before it has data. */
export function emptyDirectionStats(): DirectionStats {
  return {
    delay_deviation_ms: [0, 0, 0, 0],
    rtt_ms: [0, 0, 0, 0],
    jitter_ms: [0, 0, 0, 0],
    loss_rate: 0,
    reorder_rate: 0,
    probe_count: 0,
    baseline_delay_ms: 0,
  };
}

export interface ReceiverOptions {
  /** The sender's probe interval. */
  intervalMs?: number;
  /** RFC 7680's Tmax: how overdue a probe must be before it counts as lost. */
  lossTmaxMs?: number;
  /** Seconds of windows the delay baseline remembers. */
  baselineSeconds?: number;
}

/**
 * What the receiver of one direction knows. Definitions:
 * - delay: received_at − sent_at, on two unsynchronised clocks (so only its
 *   variation is meaningful); deviation = delay − baseline.
 * - jitter: |delay − previous delay| of consecutive arrivals (arrival order,
 *   across window boundaries), RFC 5481's IPDV taken absolute.
 * - reordered (RFC 4737): arrives with a seq below the highest seen so far.
 * - duplicate: a seq already received; ignored by every statistic.
 * - loss (RFC 7680): seqs are settled in order. Seq s is expected at
 *   `ref.received_at + (s − ref.seq) × interval`, where ref is the highest
 *   seq received; once that is more than Tmax ago it settles as received or
 *   lost, in the report where that happens. So a probe late by less than Tmax
 *   is reordered, never lost; a burst lost at the tail settles as lost once
 *   overdue even if nothing follows it; and a probe that arrives after it
 *   settled as lost stays lost (RFC 7680) and also counts as reordered.
 */
export interface ReceiverState {
  intervalMs: number;
  lossTmaxMs: number;
  baseline: BaselineState;
  /** Window data, reset by each report. */
  delays: number[];
  jitters: number[];
  rtts: number[];
  received: number;
  reordered: number;
  /** Seqs received but not yet settled. */
  pending: Set<number>;
  /** Every seq below this is settled. */
  settledUpTo: number;
  /** Recently settled-as-lost seqs, so a late arrival is told from a duplicate. */
  lost: Set<number>;
  highest: { seq: number; receivedAt: number } | null;
  lastDelay: number | null;
}

const MAX_WINDOW_SAMPLES = 20_000;
const MAX_REMEMBERED_LOST = 10_000;
/** A gap this long in seqs is settled at most this far per report (a wild seq must not stall the loop). */
const MAX_SETTLE_PER_REPORT = 100_000;

/** A fresh receiver for one direction. */
export function createReceiver(opts: ReceiverOptions = {}): ReceiverState {
  return {
    intervalMs: opts.intervalMs ?? 10,
    lossTmaxMs: opts.lossTmaxMs ?? 500,
    baseline: createBaseline(opts.baselineSeconds ?? 5),
    delays: [],
    jitters: [],
    rtts: [],
    received: 0,
    reordered: 0,
    pending: new Set(),
    settledUpTo: 0,
    lost: new Set(),
    highest: null,
    lastDelay: null,
  };
}

export type ProbeVerdict = 'in_order' | 'reordered' | 'late' | 'duplicate' | 'implausible';

/**
 * Largest forward jump in seq a probe may make (a minute of probes at 100/s).
 * A bigger one cannot come from a sender following the protocol, and believing
 * it would count every seq in between as lost.
 */
export const MAX_SEQ_JUMP = 6_000;

/** Records one arriving probe; says how it was classified ('duplicate' and 'implausible' ones are ignored). */
export function recordProbe(s: ReceiverState, seq: number, sentAtMs: number, receivedAtMs: number): ProbeVerdict {
  if (seq > (s.highest?.seq ?? 0) + MAX_SEQ_JUMP) return 'implausible';
  let verdict: ProbeVerdict;
  if (seq < s.settledUpTo) {
    if (!s.lost.delete(seq)) return 'duplicate';
    verdict = 'late';
  } else {
    if (s.pending.has(seq)) return 'duplicate';
    s.pending.add(seq);
    verdict = s.highest && seq < s.highest.seq ? 'reordered' : 'in_order';
  }
  if (verdict !== 'in_order') s.reordered++;
  if (!s.highest || seq > s.highest.seq) s.highest = { seq, receivedAt: receivedAtMs };
  s.received++;
  const delay = receivedAtMs - sentAtMs;
  if (s.delays.length < MAX_WINDOW_SAMPLES) s.delays.push(delay);
  if (s.lastDelay !== null && s.jitters.length < MAX_WINDOW_SAMPLES) s.jitters.push(Math.abs(delay - s.lastDelay));
  s.lastDelay = delay;
  return verdict;
}

/** Records one round-trip time sample (from an echo) in the current window. */
export function recordRtt(s: ReceiverState, rttMs: number): void {
  if (Number.isFinite(rttMs) && rttMs >= 0 && s.rtts.length < MAX_WINDOW_SAMPLES) s.rtts.push(rttMs);
}

export interface ReportOptions {
  /** The sender has stopped: seqs above the highest received are not expected, so not lost. */
  senderStopped?: boolean;
}

/** Closes the current window at `nowMs`: returns its stats and starts the next window. */
export function takeReport(s: ReceiverState, nowMs: number, opts: ReportOptions = {}): DirectionStats {
  const baseline = pushBaselineWindow(s.baseline, s.delays) ?? 0;
  const { lost, settled } = settle(s, nowMs, opts.senderStopped ?? false);
  const stats: DirectionStats = {
    delay_deviation_ms: quad(s.delays.map((d) => d - baseline)),
    rtt_ms: quad(s.rtts),
    jitter_ms: quad(s.jitters),
    loss_rate: settled ? (lost / settled) * 100 : 0,
    reorder_rate: s.received ? (s.reordered / s.received) * 100 : 0,
    probe_count: s.received,
    baseline_delay_ms: currentBaseline(s.baseline) ?? 0,
    loss_tmax_ms: s.lossTmaxMs,
  };
  s.delays = [];
  s.jitters = [];
  s.rtts = [];
  s.received = 0;
  s.reordered = 0;
  return stats;
}

/** Settles every seq that is overdue by more than Tmax at `nowMs`. */
function settle(s: ReceiverState, nowMs: number, senderStopped: boolean): { lost: number; settled: number } {
  const h = s.highest;
  if (!h) return { lost: 0, settled: 0 };
  // Highest seq whose expected arrival is at least Tmax ago.
  let horizon = h.seq + Math.floor((nowMs - s.lossTmaxMs - h.receivedAt) / s.intervalMs);
  if (senderStopped) horizon = Math.min(horizon, h.seq);
  horizon = Math.min(horizon, s.settledUpTo + MAX_SETTLE_PER_REPORT - 1);
  let lost = 0;
  let settled = 0;
  for (let seq = s.settledUpTo; seq <= horizon; seq++) {
    settled++;
    if (!s.pending.delete(seq)) {
      lost++;
      s.lost.add(seq);
    }
  }
  if (horizon >= s.settledUpTo) s.settledUpTo = horizon + 1;
  if (s.lost.size > MAX_REMEMBERED_LOST) {
    for (const seq of s.lost) {
      s.lost.delete(seq);
      if (s.lost.size <= MAX_REMEMBERED_LOST) break;
    }
  }
  return { lost, settled };
}

/** Round-trip time from an echo of our own probe: now − its send time − how long the peer held it; null if nonsensical. */
export function rttFromEcho(nowMs: number, echo: { sent_at_ms: number; held_ms: number }): number | null {
  const rtt = nowMs - echo.sent_at_ms - echo.held_ms;
  return Number.isFinite(rtt) && rtt >= 0 ? rtt : null;
}
