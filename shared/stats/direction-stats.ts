import { createBaseline, currentBaseline, pushBaselineWindow, type BaselineState } from './baseline.js';
import type { Quad } from './percentiles.js';
import { noExtremes, noteExtreme, quadInPlace, type Extremes } from './select.js';
import { SKETCH_FORMAT, windowSketches, type WindowSketches } from './sketch.js';

/** Stats of one direction over one report window (PROTOCOL.md §2 DirectionStats). */
export interface DirectionStats {
  /** Null while no unloaded window has given a baseline: a deviation needs something to deviate from. */
  delay_deviation_ms: Quad | null;
  rtt_ms: Quad;
  jitter_ms: Quad;
  /** Percent of the probes settled in this window (probes_expected) that were lost. */
  loss_rate: number;
  /** Percent of the probes received in this window (probe_count) that arrived below the highest seq seen. */
  reorder_rate: number;
  probe_count: number;
  baseline_delay_ms: number;
  loss_tmax_ms?: number;
  /** Seqs settled (received or lost) in this window: the denominator of loss_rate. */
  probes_expected?: number;
  /** Probes that arrived after Tmax: counted lost, their delay unused. */
  late_count?: number;
  /** Time in this window the sender reported it could not keep its schedule. */
  sender_paused_ms?: number;
  /** Bulk traffic flowed on the connection (either way) in this window. */
  loaded?: boolean;
  /** Bulk goodput received in this direction in this window, bits per second. */
  throughput_bps?: number;
  /** RTT samples that came out negative (timing noise of the two send paths) and were counted as 0, not dropped. */
  rtt_clamped_count?: number;
  /** v3: mergeable sketches of this window's samples (shared/stats/sketch.ts), in the format `sketch_format` names. */
  sketches?: WindowSketches;
  sketch_format?: string;
  /** Only on aggregates over several windows (never sent): p50/p99 come from merged sketches, or approximate per-second figures. */
  percentiles?: PercentileSource;
  /** 0 for the connection's first window, +1 per window of this receiver: the other side pairs windows by it. */
  window_index?: number;
  /** When this window opened and closed, on the receiver's clock. */
  window_start_ms?: number;
  window_end_ms?: number;
  /** Seqs settled as lost in this window (the numerator of loss_rate). */
  lost_count?: number;
}

/** How a longer window's p50/p99 were found: merged sketches, or (some window had none) median of p50s and largest p99. */
export type PercentileSource = 'merged' | 'per_second_approx';

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
  /** Seconds of unloaded windows the delay baseline remembers. */
  baselineSeconds?: number;
}

/** What the sender says of its own stream (PROTOCOL.md `sender_report`). */
export interface SenderReport {
  /** Highest seq sent, -1 before the first. */
  last_seq: number;
  sent: number;
  /** Total time so far the sender could not keep its schedule. */
  paused_ms: number;
}

/**
 * What the receiver of one direction knows. Definitions (PROTOCOL.md §2):
 * - delay: received_at − sent_at, on two unsynchronised clocks (only its
 *   variation means anything); deviation = delay − baseline, where the
 *   baseline comes from unloaded windows only.
 * - jitter: |IPDV| of consecutive seqs (RFC 5481): the pair n, n+1, both
 *   received in time, whatever order they arrived in; a pair with a lost
 *   member has none.
 * - reordered (RFC 4737): arrives in time with a seq below the highest seen.
 * - duplicate: a seq already received; ignored by every statistic.
 * - loss (RFC 7680): seqs settle in order, each once, as received or lost.
 *   A seq below one that arrived at least Tmax ago is settled. Beyond the
 *   highest received, only seqs the sender reported as sent (sender_report)
 *   settle, Tmax after the report arrived and once the next report shows
 *   no pause since (after a pause, Tmax after that next one; see
 *   reportDue): a sender that paused sent nothing, so nothing is lost. Until the first report (an older peer) the
 *   tail is extrapolated at one seq per interval after the highest arrival.
 *   A probe that arrives after it settled as lost is `late`: it stays lost,
 *   and its delay is not used. Counting starts at the first seq that arrives
 *   after the streams start: probes sent before the receiver was listening
 *   (a delayed `start_probe_streams`) are not expected, so never lost.
 */
export interface ReceiverState {
  intervalMs: number;
  lossTmaxMs: number;
  baseline: BaselineState;
  /** Window data, reset by each report. */
  delays: number[];
  jitters: number[];
  rtts: number[];
  /** Min and max of each as they arrive: a window's quads need no sort (select.ts). */
  delayX: Extremes;
  jitterX: Extremes;
  rttX: Extremes;
  /** RTT samples of this window that were negative and counted as 0. */
  rttClamped: number;
  received: number;
  reordered: number;
  late: number;
  pausedMs: number;
  /** Seqs received but not yet settled. */
  pending: Set<number>;
  /** Delays of recent in-time arrivals by seq, for IPDV pairs. */
  recentDelays: Map<number, number>;
  /** Every seq below this is settled. */
  settledUpTo: number;
  /** Recently settled-as-lost seqs, so a late arrival is told from a duplicate. */
  lost: Set<number>;
  highest: { seq: number; receivedAt: number } | null;
  /** Arrivals that raised the highest seq, oldest first, until they are Tmax old. */
  advances: { seq: number; at: number }[];
  /** Sender reports not yet settled: `lastSeq` is expected Tmax after `at`, once a later report shows no pause since (see settle). */
  reports: { lastSeq: number; at: number; pausedMs: number }[];
  /** The last sender report taken, null before the first. */
  lastReport: SenderReport | null;
  /** No probe has arrived since the streams (re)started: the first one's seq is where counting starts. */
  awaitingFirst: boolean;
  /** The index the next report gets. */
  windowIndex: number;
  /** When the current window opened (the streams' start or the last report), null before the streams started. */
  windowStartMs: number | null;
}

const MAX_WINDOW_SAMPLES = 20_000;
const MAX_REMEMBERED_LOST = 10_000;
/** Arrival and report records kept for settling; a burst beyond this merges into the newest entry. */
const MAX_PENDING_RECORDS = 4_096;
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
    delayX: noExtremes(),
    jitterX: noExtremes(),
    rttX: noExtremes(),
    rttClamped: 0,
    received: 0,
    reordered: 0,
    late: 0,
    pausedMs: 0,
    pending: new Set(),
    recentDelays: new Map(),
    settledUpTo: 0,
    lost: new Set(),
    highest: null,
    advances: [],
    reports: [],
    lastReport: null,
    awaitingFirst: true,
    windowIndex: 0,
    windowStartMs: null,
  };
}

export type ProbeVerdict = 'in_order' | 'reordered' | 'late' | 'duplicate' | 'implausible';

/**
 * Largest forward jump in seq a probe may make (a minute of probes at 100/s).
 * A bigger one cannot come from a sender following the protocol, and believing
 * it would count every seq in between as lost.
 */
export const MAX_SEQ_JUMP = 6_000;

/** Records one arriving probe; says how it was classified ('duplicate' and 'implausible' ones change nothing). */
export function recordProbe(s: ReceiverState, seq: number, sentAtMs: number, receivedAtMs: number): ProbeVerdict {
  if (seq > Math.max(s.highest?.seq ?? 0, s.settledUpTo) + MAX_SEQ_JUMP) return 'implausible';
  if (s.awaitingFirst) countFrom(s, seq);
  if (seq < s.settledUpTo) {
    if (!s.lost.delete(seq)) return 'duplicate';
    s.late++;
    return 'late';
  }
  if (s.pending.has(seq)) return 'duplicate';
  s.pending.add(seq);
  const verdict: ProbeVerdict = s.highest && seq < s.highest.seq ? 'reordered' : 'in_order';
  if (verdict === 'reordered') s.reordered++;
  if (!s.highest || seq > s.highest.seq) {
    s.highest = { seq, receivedAt: receivedAtMs };
    pushBounded(s.advances, { seq, at: receivedAtMs });
  }
  s.received++;
  const delay = receivedAtMs - sentAtMs;
  if (s.delays.length < MAX_WINDOW_SAMPLES) {
    s.delays.push(delay);
    noteExtreme(s.delayX, delay);
  }
  s.recentDelays.set(seq, delay);
  pairJitter(s, delay, s.recentDelays.get(seq - 1));
  pairJitter(s, delay, s.recentDelays.get(seq + 1));
  return verdict;
}

/** Records the |IPDV| of a delay and its neighbour's, when that neighbour arrived in time. */
function pairJitter(s: ReceiverState, delay: number, other: number | undefined): void {
  if (other === undefined || s.jitters.length >= MAX_WINDOW_SAMPLES) return;
  const j = Math.abs(delay - other);
  s.jitters.push(j);
  noteExtreme(s.jitterX, j);
}

/** Records one round-trip time sample (from an echo) in the current window; a negative one counts as 0 and is counted as clamped. */
export function recordRtt(s: ReceiverState, rttMs: number): void {
  if (!Number.isFinite(rttMs) || s.rtts.length >= MAX_WINDOW_SAMPLES) return;
  // Dropping negatives would bias p50 up: they are the quick round trips whose timing noise pushed them below 0.
  if (rttMs < 0) s.rttClamped++;
  const rtt = Math.max(0, rttMs);
  s.rtts.push(rtt);
  noteExtreme(s.rttX, rtt);
}

/** The streams (re)start: counting resumes at the first seq that arrives from now on, whatever the sender sent while we were not listening. */
export function awaitFirstArrival(s: ReceiverState): void {
  s.awaitingFirst = true;
  // What the earlier period's arrivals and reports promised is moot: its last window settled what it could.
  s.advances = [];
  s.reports = [];
}

/** This side's streams (re)start at `atMs`: the next window opens there. */
export function openWindow(s: ReceiverState, atMs: number): void {
  s.windowStartMs = atMs;
}

/** Starts counting at `seq`, the first arrival since the streams started: seqs below it were sent before we listened. */
function countFrom(s: ReceiverState, seq: number): void {
  s.awaitingFirst = false;
  if (seq <= s.settledUpTo) return;
  for (const q of s.pending) if (q < seq) s.pending.delete(q);
  for (const q of s.recentDelays.keys()) if (q < seq) s.recentDelays.delete(q);
  s.settledUpTo = seq;
}

/**
 * Takes the sender's report of its own stream, received at `atMs`: its seqs up
 * to `last_seq` are expected, and the growth of `paused_ms` is this window's
 * sender pause. Returns false (and changes nothing) for a report that goes
 * backwards or jumps implausibly.
 */
export function recordSenderReport(s: ReceiverState, r: SenderReport, atMs: number): boolean {
  const prev = s.lastReport;
  if (prev && (r.last_seq < prev.last_seq || r.sent < prev.sent || r.paused_ms < prev.paused_ms)) return false;
  if (r.last_seq > Math.max(prev?.last_seq ?? 0, s.highest?.seq ?? 0, s.settledUpTo) + MAX_SEQ_JUMP) return false;
  s.pausedMs += r.paused_ms - (prev?.paused_ms ?? 0);
  s.lastReport = { ...r };
  if (r.last_seq >= 0) pushBounded(s.reports, { lastSeq: r.last_seq, at: atMs, pausedMs: r.paused_ms });
  return true;
}

export interface ReportOptions {
  /** The sender has stopped: seqs above the highest received or reported are not expected, so not lost. */
  senderStopped?: boolean;
  /** Bulk traffic flowed in this window: its delays show queueing and must not move the baseline. */
  loaded?: boolean;
  /** Bulk goodput received in this direction in this window, bits per second. */
  throughputBps?: number;
}

/** Closes the current window at `nowMs`: returns its stats and starts the next window. */
export function takeReport(s: ReceiverState, nowMs: number, opts: ReportOptions = {}): DirectionStats {
  const loaded = opts.loaded ?? false;
  // Only unloaded windows make a baseline; before the first, deviation has nothing honest to measure against.
  const baseline = loaded ? currentBaseline(s.baseline) : pushBaselineWindow(s.baseline, s.delays);
  const { lost, settled } = settle(s, nowMs, opts.senderStopped ?? false);
  // Without a baseline there is no deviation: the window's delay sketch is empty, as its quad is null. With one, each
  // deviation is a delay less the baseline, so their order statistics are the delays' less it (no array of them).
  const sketches = baseline === null ? windowSketches([], s.jitters, s.rtts) : windowSketches(s.delays, s.jitters, s.rtts, baseline);
  const stats: DirectionStats = {
    delay_deviation_ms: baseline === null ? null : deviationQuad(s, baseline),
    rtt_ms: finiteQuad(quadInPlace(s.rtts, s.rttX)),
    jitter_ms: finiteQuad(quadInPlace(s.jitters, s.jitterX)),
    loss_rate: settled ? (lost / settled) * 100 : 0,
    reorder_rate: s.received ? (s.reordered / s.received) * 100 : 0,
    probe_count: s.received,
    baseline_delay_ms: finite(baseline ?? 0),
    loss_tmax_ms: s.lossTmaxMs,
    probes_expected: settled,
    lost_count: lost,
    late_count: s.late,
    rtt_clamped_count: s.rttClamped,
    sender_paused_ms: Math.min(finite(s.pausedMs), 3_600_000),
    loaded,
    ...(opts.throughputBps !== undefined ? { throughput_bps: finite(opts.throughputBps) } : {}),
    window_index: s.windowIndex,
    ...(s.windowStartMs !== null ? { window_start_ms: s.windowStartMs } : {}),
    window_end_ms: nowMs,
    ...(sketches ? { sketches, sketch_format: SKETCH_FORMAT } : {}),
  };
  s.windowIndex++;
  s.windowStartMs = nowMs;
  s.delays = [];
  s.jitters = [];
  s.rtts = [];
  s.delayX = noExtremes();
  s.jitterX = noExtremes();
  s.rttX = noExtremes();
  s.rttClamped = 0;
  s.received = 0;
  s.reordered = 0;
  s.late = 0;
  s.pausedMs = 0;
  return stats;
}

/** Settles every seq that is overdue by more than Tmax at `nowMs`. */
function settle(s: ReceiverState, nowMs: number, senderStopped: boolean): { lost: number; settled: number } {
  const due = nowMs - s.lossTmaxMs;
  if (s.awaitingFirst) {
    // Nothing arrived since the start: nothing is expected yet, unless a report Tmax old says probes were sent
    // and none came (an outage from the first probe on), which is loss from where counting stood.
    if (!s.reports.some((r) => r.at <= due)) return { lost: 0, settled: 0 };
    s.awaitingFirst = false;
  }
  let horizon = s.settledUpTo - 1;
  // Below an arrival at least Tmax old, every seq was sent earlier and had its time.
  while (s.advances.length > 0 && s.advances[0]!.at <= due) horizon = Math.max(horizon, s.advances.shift()!.seq);
  if (s.lastReport) {
    // While probes still arrive, the stream is draining (a queue in the sender): arrivals settle what is below them.
    const quiet = senderStopped || !s.highest || s.highest.receivedAt <= due;
    while (quiet && s.reports.length > 0 && reportDue(s.reports, due, senderStopped)) horizon = Math.max(horizon, s.reports.shift()!.lastSeq);
  } else if (s.highest && !senderStopped) {
    // An older peer that sends no reports: it is assumed to keep sending one probe per interval.
    horizon = Math.max(horizon, s.highest.seq + Math.floor((due - s.highest.receivedAt) / s.intervalMs));
  }
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
  // A settled seq pairs for IPDV only with its successor, which may still arrive.
  for (const seq of s.recentDelays.keys()) if (seq < s.settledUpTo - 1) s.recentDelays.delete(seq);
  if (s.lost.size > MAX_REMEMBERED_LOST) {
    for (const seq of s.lost) {
      s.lost.delete(seq);
      if (s.lost.size <= MAX_REMEMBERED_LOST) break;
    }
  }
  return { lost, settled };
}

/**
 * Whether the oldest report's seqs may settle at `due` (now − Tmax). A report
 * travels on the control channel, which can overtake probes still queued in
 * the sender's own stack (SCTP's congestion window at a long RTT); if the
 * sender then stalls, those probes leave after the stall, and Tmax from the
 * report would count them lost. So a report settles once the next one has
 * arrived and shows no pause since; after a pause, Tmax after that next
 * report (the queued probes leave as the sender resumes). Without a next
 * one, only a stopped sender's last report settles. (The caller also waits
 * for a stream that went quiet: a queue longer than that still drains.)
 */
function reportDue(reports: readonly { at: number; pausedMs: number }[], due: number, senderStopped: boolean): boolean {
  const [r, next] = [reports[0]!, reports[1]];
  if (r.at > due) return false;
  if (!next) return senderStopped;
  return next.pausedMs > r.pausedMs ? next.at <= due : true;
}

/** Appends to a bounded record list; when full the new record replaces the newest one, which only delays settling. */
function pushBounded<T extends object>(list: T[], rec: T): void {
  if (list.length < MAX_PENDING_RECORDS) list.push(rec);
  else Object.assign(list[list.length - 1]!, rec);
}

/** The window's deviation quad: its delays' quad less the baseline (zeros when it has no delays). */
function deviationQuad(s: ReceiverState, baseline: number): Quad {
  if (s.delays.length === 0) return [0, 0, 0, 0];
  const q = quadInPlace(s.delays, s.delayX);
  return finiteQuad([q[0] - baseline, q[1] - baseline, q[2] - baseline, q[3] - baseline]);
}

function finite(v: number): number {
  return Number.isFinite(v) ? v : 0;
}

function finiteQuad(q: Quad): Quad {
  return [finite(q[0]), finite(q[1]), finite(q[2]), finite(q[3])];
}

/** Round-trip time from an echo of our own probe: now − its send time − how long the peer held it; null if nonsensical. */
export function rttFromEcho(nowMs: number, echo: { sent_at_ms: number; held_ms: number }): number | null {
  const rtt = nowMs - echo.sent_at_ms - echo.held_ms;
  return Number.isFinite(rtt) && rtt >= 0 ? rtt : null;
}
