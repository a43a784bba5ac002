import { MAX_ECHOES, parseProbe, type Direction, type ProbePacket, type ProbeSendReport } from '../protocol/probe.js';
import {
  awaitFirstArrival,
  createReceiver,
  openWindow,
  recordProbe,
  recordRtt,
  recordSenderReport,
  takeReport,
  type DirectionStats,
  type ReceiverOptions,
  type ReportOptions,
  type SenderReport,
} from '../stats/direction-stats.js';
import { nearestRank } from '../stats/percentiles.js';
import { nowMs } from '../time.js';
import { createEchoQueue } from './echo-queue.js';
import { echoText, jsonNumber, probeFieldsText } from './probe-text.js';
import { createRttCorrections } from './rtt-corrections.js';
import type { Schedule, ScheduleHandle } from './tick-group.js';
import { startTicker } from './ticker.js';

export interface ProbeEndpointOptions {
  /** The direction of the probes this side sends: the relay sends 's2c', the client 'c2s'. */
  sendDirection: Direction;
  connId: string;
  /** Writes one probe text on the probe channel; returns false (or throws) when it could not be sent. */
  send: (text: string) => boolean | void;
  /**
   * Bytes still queued on the probe channel (its bufferedAmount). Above QUEUED_LIMIT the tick sends nothing and
   * counts as the sender's pause: a probe queued behind our own probes would measure that queue, not the network.
   */
  queued?: () => number;
  /** Sees each probe text once it was sent, outside the timed send (a capture, say: its cost is not the probe's departure). */
  sent?: (text: string) => void;
  now?: () => number;
  intervalMs?: number;
  receiver?: ReceiverOptions;
  /** Shares one timer among many endpoints (see tick-group.ts); by default each endpoint has its own. */
  schedule?: Schedule;
  /** Sees every RTT sample as it is taken (the client's responsiveness needs the samples, not a window's quantiles). */
  onRtt?: (rttMs: number) => void;
}

export interface ProbeEndpoint {
  /** Starts sending a probe every intervalMs on a drift-free schedule. */
  start(): void;
  /** Stops sending. */
  stop(): void;
  readonly running: boolean;
  /** Handles a probe text from the peer; false when it was dropped (malformed, other connection, our own direction). */
  receive(text: unknown, atMs?: number): boolean;
  /** The peer's streams (re)start: its probes count from the first one that arrives from now on. */
  expectPeerStart(): void;
  /** Takes the peer's sender_report; false when it was refused (goes backwards, implausible). */
  receiveSenderReport(r: SenderReport, atMs?: number): boolean;
  /** Stats of the received direction since the last report. */
  report(nowMs?: number, opts?: ReportOptions): DirectionStats;
  /** This side's own sender_report: what it sent, and how long it could not keep its schedule; `final` once it stopped. */
  senderReport(): SenderReport & { final?: true };
  readonly sent: number;
}

/** Sent probes remembered for their echoes: a few seconds' worth. */
const SENT_RING = 1024;
/** Received probes waiting for their echo; beyond this the oldest go unechoed. */
const MAX_ECHO_QUEUE = 256;
/** Recent sends whose durations (timestamp to send() returning) estimate when a probe really leaves. */
const SEND_COST_SAMPLES = 50;
/** The percentile of those durations taken as the time from the timestamp to the datagram's departure (see below). */
const DEPARTURE_PERCENTILE = 10;
/** The estimate is taken again after this many sends (a sort of SEND_COST_SAMPLES numbers, not one per probe). */
const DEPARTURE_REESTIMATE_EVERY = 10;
/**
 * Every how many probes one carries `feedback` (optional, PROTOCOL §2). After a loss SCTP cuts the association's
 * congestion window to a few MTU (README, Self-queueing at 75 ms): at 150 ms RTT some 28 kB/s, less than 100 probes
 * of ~360 bytes, so the probes queued behind our own and the RTT read 1.8–2.7× the path's. With feedback on one
 * probe in ten and `send_ms` only when it corrects, a probe with one echo is about 185 bytes.
 */
export const FEEDBACK_EVERY = 10;
/** Queued bytes on the probe channel above which a tick is skipped: about one probe with a few echoes. */
export const QUEUED_LIMIT = 512;

/**
 * One side of the probe exchange — the same code runs in the relay and in the
 * browser. Each probe carries feedback on what this side has received and
 * echoes every probe received since the last one sent, each exactly once, so
 * RTT samples are not selected by their delay; RTT needs no clock sync (the
 * peer says how long it held each probe). Echoes are matched against this
 * side's own record of what it sent, so a peer cannot invent RTT samples.
 *
 * Both ends of a round trip are taken where the probe really leaves.
 * node-datachannel encrypts and writes the datagram inside send(), 0.03–0.07
 * ms after the call starts; a send() that takes longer spends the rest after
 * the write (captured on loopback with tshark beside the send's timestamps,
 * on a loaded 2-core machine: sends of 0.2–0.45 ms wrote at 0.05–0.19 ms).
 * Neither the call's start nor its return is the departure: timing from the
 * return made a stalled send shorten the round trip (samples below 0 and an
 * idle p50 of 0 on a busy machine). So a probe leaves, by this side's
 * estimate, at min(its send's duration, the 10th percentile of recent send
 * durations) after its timestamp — 0.004 ms late on average and within 0.044
 * ms for 99 % of sends in that capture. An RTT starts there, and an echo's
 * `held_ms` adds the estimate for the send that carries it; the next probe
 * reports that send's own figure (`send_ms`, which differs from the
 * estimate only when the send was quicker than it), and the receiver
 * corrects each sample by the difference (rtt-corrections.ts). A browser's
 * send() only queues, so there the estimate is about zero.
 */
export function createProbeEndpoint(opts: ProbeEndpointOptions): ProbeEndpoint {
  const now = opts.now ?? nowMs;
  const intervalMs = opts.intervalMs ?? 10;
  const receiver = createReceiver({ intervalMs, ...opts.receiver });
  let seq = 0;
  const schedule: Schedule = opts.schedule ?? ((tick) => startTicker(intervalMs, tick, now));
  let ticker: ScheduleHandle | null = null;
  /** Ticks missed in earlier streaming periods (skipped by a late timer, or a send that failed). */
  let missedBefore = 0;
  /** Ticks that sent nothing: a send that failed, or a channel still holding our earlier probes. */
  let failedSends = 0;
  const sentAt = new Float64Array(SENT_RING).fill(-1);
  const sentSeq = new Float64Array(SENT_RING).fill(-1);
  /** When each remembered probe left, by the estimate above: the start of its round trip. */
  const departedAt = new Float64Array(SENT_RING).fill(-1);
  const sendCosts = new Float64Array(SEND_COST_SAMPLES);
  /** Sorted in place for the estimate: a reused buffer, not a copy per estimate. */
  const sortedCosts = new Float64Array(SEND_COST_SAMPLES);
  let sendCostCount = 0;
  let sendCostAt = 0;
  /** Time from a send's timestamp to its datagram's departure (the estimate above). */
  let departure = 0;
  const toEcho = createEchoQueue(MAX_ECHO_QUEUE);
  /** The constant middle of every probe text (direction, conn_id), written once. */
  const fields = probeFieldsText(opts.sendDirection, opts.connId);
  /** The real duration of our last send, reported in the next probe when that send carried echoes. */
  let lastSend: ProbeSendReport | null = null;
  let started = false;
  const corrections = createRttCorrections((rtt) => {
    recordRtt(receiver, rtt);
    // Clamped as recordRtt keeps it: a negative is a quick round trip pushed below 0 by timing noise.
    if (Number.isFinite(rtt)) opts.onRtt?.(Math.max(0, rtt));
  });

  const sendOne = () => {
    if (queuedTooMuch()) {
      failedSends++;
      return;
    }
    // To the microsecond, here and in the record the echoes are matched against: shorter on the wire.
    const at = micros(now());
    // The text is written directly, never as an object and JSON.stringify: this runs for every probe of every session.
    let text = `{"seq":${seq},"sent_at_ms":${jsonNumber(at)}${fields}`;
    const h = receiver.highest;
    // Feedback on every FEEDBACK_EVERY-th probe only: nothing needs it per probe, and a third of a probe's bytes
    // decided whether a lossy long path's SCTP congestion window held the probe stream (see FEEDBACK_EVERY).
    if (h && seq % FEEDBACK_EVERY === 0) {
      text += `,"feedback":{"highest_seq":${h.seq},"highest_seq_received_at_ms":${jsonNumber(micros(h.receivedAt))},"recent_count":${receiver.received},"recent_reorders":${receiver.reordered}}`;
    }
    if (lastSend) text += `,"send_ms":{"seq":${lastSend.seq},"ms":${jsonNumber(lastSend.ms)},"est_ms":${jsonNumber(lastSend.est_ms)}}`;
    // The oldest MAX_ECHOES waiting, newest first; they leave the queue only once the send succeeded.
    const n = Math.min(MAX_ECHOES, toEcho.length);
    const est = departure;
    if (n > 0) {
      let list = '';
      for (let k = n - 1; k >= 0; k--) {
        if (k !== n - 1) list += ',';
        list += echoText(toEcho.seqAt(k), toEcho.sentAtAt(k), micros(Math.max(0, at - toEcho.receivedAtAt(k)) + est));
      }
      // `echo` is left out (PROTOCOL §2 allows it beside `echoes`): a copy of echoes[0] made probes some 20 % longer,
      // enough at 150 ms RTT with loss to exceed SCTP's congestion window and queue probes behind our own.
      text += `,"echoes":[${list}]`;
    }
    text += '}';
    let ok: boolean;
    try {
      ok = opts.send(text) !== false;
    } catch {
      ok = false;
    }
    if (!ok) {
      // Not sent: the seq is not used (so it is never counted lost), the echoes wait, the tick counts as a pause.
      failedSends++;
      return;
    }
    toEcho.drop(n);
    const took = Math.max(0, now() - at);
    // Before any send was timed there is no estimate: the first send counts whole (and says so in send_ms).
    const left = sendCostCount === 0 ? took : Math.min(took, est);
    sentAt[seq % SENT_RING] = at;
    sentSeq[seq % SENT_RING] = seq;
    departedAt[seq % SENT_RING] = at + left;
    // Reported only when it corrects something (a send quicker than the estimate, or the first): the receiver takes a
    // probe without `send_ms` as "the previous send took the estimate", and 47 bytes less per probe keep the stream
    // inside SCTP's congestion window on a long lossy path (see FEEDBACK_EVERY).
    const ms = micros(left);
    const estMs = micros(est);
    lastSend = n > 0 && ms !== estMs ? { seq, ms, est_ms: estMs } : null;
    seq++;
    noteSendCost(took);
    opts.sent?.(text);
  };

  const queuedTooMuch = (): boolean => {
    if (!opts.queued) return false;
    try {
      return opts.queued() > QUEUED_LIMIT;
    } catch {
      // A channel that is going away: the send decides (and fails as a pause).
      return false;
    }
  };

  const noteSendCost = (ms: number) => {
    sendCosts[sendCostAt] = ms;
    if (sendCostCount < SEND_COST_SAMPLES) sendCostCount++;
    sendCostAt = (sendCostAt + 1) % SEND_COST_SAMPLES;
    // Not per probe: a relay sends for hundreds of endpoints.
    if (sendCostCount < DEPARTURE_REESTIMATE_EVERY || sendCostAt % DEPARTURE_REESTIMATE_EVERY === 0) departure = percentileOf(sendCosts, sendCostCount, sortedCosts, DEPARTURE_PERCENTILE);
  };

  const takeEchoes = (p: ProbePacket, at: number) => {
    if (p.send_ms) corrections.report(p.send_ms);
    // No report: the peer's previous send took its estimate, so that probe's samples stand as they are (an older
    // peer that never reports gets the same, without the wait).
    else if (p.seq > 0) corrections.report({ seq: p.seq - 1, ms: 0, est_ms: 0 });
    const echoes = p.echoes ?? (p.echo ? [p.echo] : []);
    const samples: number[] = [];
    for (const e of echoes) {
      const slot = e.seq % SENT_RING;
      // Each sent probe yields one sample at most, and only for the send time we recorded.
      if (sentSeq[slot] !== e.seq || Math.abs(sentAt[slot]! - e.sent_at_ms) > 0.001) continue;
      sentSeq[slot] = -1;
      samples.push(at - departedAt[slot]! - e.held_ms);
    }
    // Held until the peer's next probe says how long the send that carried these echoes really took.
    corrections.add(p.seq, samples, at);
    corrections.expire(at);
  };

  return {
    start() {
      started = true;
      if (ticker) return;
      // The receiver's windows run on this side's streams: the first (or a restart's) opens now.
      openWindow(receiver, now());
      ticker = schedule(sendOne);
    },
    stop() {
      if (!ticker) return;
      missedBefore += ticker.skipped;
      ticker.stop();
      ticker = null;
    },
    get running() {
      return ticker !== null;
    },
    receive(text, atMs) {
      const at = atMs ?? now();
      const p = parseProbe(text);
      if (!p || p.conn_id !== opts.connId || p.direction === opts.sendDirection) return false;
      const verdict = recordProbe(receiver, p.seq, p.sent_at_ms, at);
      if (verdict === 'implausible') return false;
      if (verdict === 'duplicate') return true;
      takeEchoes(p, at);
      toEcho.push(p.seq, p.sent_at_ms, at);
      return true;
    },
    expectPeerStart() {
      awaitFirstArrival(receiver);
    },
    receiveSenderReport(r, atMs) {
      return recordSenderReport(receiver, r, atMs ?? now());
    },
    report(at, reportOpts) {
      const t = at ?? now();
      // A stopped sender's last probe has no successor to carry its send report: its samples keep the estimate.
      corrections.expire(t, reportOpts?.senderStopped ?? false);
      return takeReport(receiver, t, reportOpts);
    },
    senderReport() {
      const missed = missedBefore + (ticker?.skipped ?? 0) + failedSends;
      // A report from a stream that ran and stopped is its last: the receiver settles the tail Tmax after it arrives.
      return { last_seq: seq - 1, sent: seq, paused_ms: missed * intervalMs, ...(started && !ticker ? { final: true as const } : {}) };
    },
    get sent() {
      return seq;
    },
  };
}

/** Rounds a duration to the microsecond: precise enough for a send time, short on the wire. */
function micros(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

/** Nearest-rank p-th percentile of the first `n` of `xs` (a ring, so any order), sorted in `scratch`. */
function percentileOf(xs: Float64Array, n: number, scratch: Float64Array, p: number): number {
  if (n === 0) return 0;
  const sorted = scratch.subarray(0, n);
  sorted.set(xs.subarray(0, n));
  return nearestRank(sorted.sort(), p);
}
