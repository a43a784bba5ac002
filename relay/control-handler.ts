import { controlError, parseControlMessage, type ControlOf, type ControlType } from '../shared/protocol/control.js';
import { nowMs } from '../shared/time.js';
import { discardCapture, startCapture } from './capture/capture-buffer.js';
import { saveCapture, type CaptureStore } from './capture/save-capture.js';
import type { CaptureHandoff } from './capture/capture-handoff.js';
import type { Logger } from './log.js';
import type { MetricWriter } from './metric-writer.js';
import type { PathTracer } from './path-trace/path-tracer.js';
import { countRejected } from './metrics.js';
import { closeAfter, DEFAULT_LIMIT_GRACE_MS, endConnection } from './end-connection.js';
import { ownTimeout, own, moveTo } from './session-state.js';
import { startStreams, measuredSoFar, sendControl, stopStreams, takeControlToken, type Session } from './session.js';
import { queueMetric, reportSecond } from './stats-report.js';
import type { SurveyClock } from './survey-clock.js';
import { endSurvey, linkPeerToSurvey } from './survey-end.js';
import type { PeerOptions } from './peer.js';
import { BadOfferError } from './peer.js';
import { openLoadConnection, startBulkSender } from './throughput.js';

export interface ControlContext {
  writer: MetricWriter;
  /** Path traces toward the connection's own peer (absent: none). */
  pathTrace?: PathTracer;
  log: Logger;
  dataDir: string;
  relayAddr: { ip: string; port: number };
  /** Capture memory and the file writer. */
  captures: CaptureStore;
  /** Hands written captures to the object store (absent: they stay on this relay's disk). */
  handoff?: CaptureHandoff;
  /** Written on the peer's row with its survey, for ending it after a crash. */
  relayId: string;
  /** The magic key that owns a survey: the one it was started with (live on this relay or recorded), or this one, recorded now, for a new survey. */
  claimSurvey: (surveyId: string, magicKey: string, userLogin: string | null) => Promise<string>;
  /** Ends a connection that keeps abusing its budget. */
  close?: (s: Session, why: string, reason?: 'rate_limited' | 'closed') => void;
  /** Measuring time of each survey over all its connections (the key's limit is per survey). */
  clock: SurveyClock;
  /** How long a connection whose measuring time is used up stays open (default DEFAULT_LIMIT_GRACE_MS). */
  limitGraceMs?: number;
  /** How this relay answers offers: a throughput test's load connection is answered the same way. */
  peer: PeerOptions;
}

/** Over-budget messages in a row after which the connection is closed: persistent abuse, not a burst. */
const MAX_REFUSED_IN_A_ROW = 500;

/** Messages only the relay sends: a client sending one gets `wrong_direction`. */
const RELAY_TO_CLIENT = new Set<ControlType>(['server_side_ready', 'measuring_time_response', 'survey_session_stopped', 'throughput_ready', 'path_trace', 'error']);

type ClientMessage = Exclude<ControlOf<ControlType>, ControlOf<'server_side_ready' | 'measuring_time_response' | 'survey_session_stopped' | 'throughput_ready' | 'path_trace' | 'error'>>;

/** A load connection outlives its asked duration by this much at most: the client closes it first, normally. */
const LOAD_GRACE_MS = 2_000;

/**
 * Takes a control message into the connection's ordered inbox, or refuses it
 * there and then when the connection is over its budget: a flood costs no
 * parsing, no queueing and no writes; one error per streak, and persistent
 * abuse closes the connection.
 */
export function receiveControl(ctx: ControlContext, s: Session, text: unknown): void {
  if (!takeControlToken(s)) {
    countRejected('rate_limited');
    if (s.controlRefused++ === 0) sendControl(s, controlError('rate_limited', 'too many control messages on this connection; slow down'));
    if (s.controlRefused === MAX_REFUSED_IN_A_ROW) {
      // Told in words first; the close waits for the error's way (closing at once can overtake it).
      endConnection(ctx.writer, s, 'rate_limited', 'this connection is closed: it kept sending control messages far over its budget', () => ctx.close?.(s, 'control message flood', 'rate_limited'));
    }
    return;
  }
  s.controlRefused = 0;
  // One message at a time per connection, in arrival order, even when a handler awaits the database.
  s.inbox = s.inbox.then(() => handleControl(ctx, s, text)).catch((e: unknown) => ctx.log('error', 'control handler failed', { conn_id: s.connId, error: String(e) }));
}

/** Handles one control text from the client: malformed, misdirected or out-of-place messages get an `error` and change nothing. */
export async function handleControl(ctx: ControlContext, s: Session, text: unknown): Promise<void> {
  // A connection that closed while earlier messages were handled takes no more: nothing may start on it.
  if (s.closed) return;
  const parsed = parseControlMessage(text);
  if (!parsed.ok) {
    countRejected(parsed.error.code);
    sendControl(s, controlError(parsed.error.code, parsed.error.message));
    return;
  }
  const msg = parsed.message;
  if (RELAY_TO_CLIENT.has(msg.type)) {
    countRejected('wrong_direction');
    sendControl(s, controlError('wrong_direction', `${msg.type} is sent by the relay, not the client`));
    return;
  }
  const m = msg as ClientMessage;
  if (m.conn_id !== s.connId) {
    countRejected('invalid_message');
    sendControl(s, controlError('invalid_message', `conn_id: ${m.conn_id} is not this connection's (${s.connId})`));
    return;
  }
  if (m.type !== 'start_survey_session' && s.surveyId !== m.survey_session_id) {
    countRejected('invalid_state');
    const why = s.surveyId === null ? 'no survey session started on this connection' : `this connection's survey session is ${s.surveyId}`;
    sendControl(s, controlError('invalid_state', `survey_session_id: ${why}`));
    return;
  }
  await HANDLERS[m.type](ctx, s, m as never);
}

/**
 * Stops the streams: the relay's last sender_report goes out now, its last c2s window once the client's last
 * report has had Tmax (`clientStoppedAt`: the client stopped first; null: the relay did, its report is awaited).
 */
function endStreams(ctx: ControlContext, s: Session, clientStoppedAt: number | null): void {
  stopStreams(s, () => reportSecond(ctx.writer, s, true), clientStoppedAt);
  s.clientFinalDue = true;
  if (s.surveyId) sendControl(s, { type: 'sender_report', survey_session_id: s.surveyId, conn_id: s.connId, timestamp_ms: nowMs(), ...s.endpoint.senderReport() });
}

/** Brings the session's view of its survey's measuring time up to date (other connections of the survey, earlier ones). */
async function refreshMeasured(ctx: ControlContext, s: Session): Promise<void> {
  if (s.surveyId === null || s.streaming) return;
  s.measuredMs = Math.max(s.measuredMs, await ctx.clock.used(s.surveyId));
}

/**
 * Tells the client its key's measuring time is used up, and closes the connection after a grace (it must not
 * stay open for ever): time for the client to stop the survey as on an explicit stop (its last window, the
 * capture). The survey ends `time_limit`, however the connection closes after that.
 */
function timeUsedUp(ctx: ControlContext, s: Session, message: string): void {
  endSurvey(ctx.writer, s, 'time_limit');
  sendControl(s, controlError('time_limit_reached', message));
  closeAfter(s, ctx.limitGraceMs ?? DEFAULT_LIMIT_GRACE_MS, () => ctx.close?.(s, 'measuring time used up'));
}

/**
 * (Re)sets the limit of the current streaming period to what is left of the
 * survey's measuring time. The timer belongs to the 'streaming' state (it dies
 * with the period); a re-arm makes the earlier one a no-op.
 */
function armLimit(ctx: ControlContext, s: Session): void {
  const arm = ++s.limitArm;
  ownTimeout(s.machine, Math.max(0, s.maxMeasuringMs - measuredSoFar(s)), () => {
    if (arm !== s.limitArm || !s.streaming) return;
    endStreams(ctx, s, null);
    // The limit is reached by definition: a timer that fired a millisecond early (clock rounding) leaves no crumb.
    s.measuredMs = Math.max(s.measuredMs, s.maxMeasuringMs);
    ctx.log('info', 'measuring-time limit reached', { conn_id: s.connId });
    timeUsedUp(ctx, s, 'probe streams stopped: the measuring-time limit of this key was reached');
  });
}

type Handler<T extends ClientMessage['type']> = (ctx: ControlContext, s: Session, m: ControlOf<T>) => void | Promise<void>;

const HANDLERS: { [T in ClientMessage['type']]: Handler<T> } = {
  async start_survey_session(ctx, s, m) {
    if (s.surveyId !== null && s.surveyId !== m.survey_session_id) {
      countRejected('invalid_state');
      sendControl(s, controlError('invalid_state', `survey_session_id: this connection already belongs to survey ${s.surveyId}`));
      return;
    }
    if (s.surveyId === null) {
      // A survey belongs to the magic key that started it: another key's client cannot attach to it. The row
      // is written (or its owner read) before the start is accepted, so of two keys racing on two relays the first wins.
      let owner: string;
      try {
        owner = await ctx.claimSurvey(m.survey_session_id, s.magicKey, s.userLogin);
      } catch {
        sendControl(s, controlError('unavailable', 'start_survey_session: the survey record cannot be checked right now; try again shortly'));
        return;
      }
      if (owner !== s.magicKey) {
        countRejected('forbidden');
        ctx.log('warn', 'refused an attach to another key’s survey', { conn_id: s.connId, survey_session_id: m.survey_session_id });
        sendControl(s, controlError('forbidden', 'survey_session_id: this survey belongs to another magic key'));
        return;
      }
      // The connection went while the owner was looked up: nothing may start on it (no capture, no timers).
      if (s.closed) return;
      if (!moveTo(s.machine, 'surveying')) {
        countRejected('invalid_state');
        sendControl(s, controlError('invalid_state', `start_survey_session: the connection is ${s.machine.state}, not open`));
        return;
      }
      s.surveyId = m.survey_session_id;
      // Messages are captured from here until the survey's stop; a capture not saved by then is given back.
      s.capture = startCapture(ctx.captures.budget);
      own(s.machine, () => discardCapture(s.capture));
      linkPeerToSurvey(ctx.writer, ctx.relayId, s);
      ctx.log('info', 'survey session started', { survey_session_id: m.survey_session_id, conn_id: s.connId });
    }
    sendControl(s, { type: 'server_side_ready', survey_session_id: m.survey_session_id, conn_id: s.connId });
  },

  async get_measuring_time(ctx, s, m) {
    // What is left of the survey's limit: a reconnect does not start it afresh.
    await refreshMeasured(ctx, s);
    const left = Math.max(0, s.maxMeasuringMs - measuredSoFar(s));
    sendControl(s, { type: 'measuring_time_response', survey_session_id: m.survey_session_id, conn_id: s.connId, max_duration_ms: left });
  },

  start_probe_streams(ctx, s) {
    if (s.streaming || s.surveyId === null) return;
    // Streams start at once on what this relay knows; the database's word follows without holding them back.
    s.measuredMs = Math.max(s.measuredMs, ctx.clock.known(s.surveyId));
    if (s.maxMeasuringMs - measuredSoFar(s) <= 0) {
      timeUsedUp(ctx, s, 'the measuring-time limit of this key is used up for this survey');
      return;
    }
    // A window still due from an earlier streaming period is closed first, so windows never overlap.
    s.finalReport?.closeNow();
    const since = Date.now();
    if (!startStreams(s, () => reportSecond(ctx.writer, s), since)) return;
    s.clientFinalDue = false;
    armLimit(ctx, s);
    ctx.pathTrace?.streamsStarted(s);
    void ctx.clock.used(s.surveyId).then((used) => {
      // Time the survey's other connections used (earlier ones, other relays) shortens this period, if it is still on.
      if (s.streamingSince !== since || used <= s.measuredMs) return;
      s.measuredMs = used;
      armLimit(ctx, s);
    });
  },

  stop_probe_streams(ctx, s) {
    // The client stopped its stream before asking (its last sender_report came first).
    if (s.streaming) endStreams(ctx, s, nowMs());
    else s.finalReport?.peerStopped(nowMs());
  },

  sender_report(_ctx, s, m) {
    const at = nowMs();
    if (!s.endpoint.receiveSenderReport({ last_seq: m.last_seq, sent: m.sent, paused_ms: m.paused_ms }, at)) {
      countRejected('invalid_message');
      sendControl(s, controlError('invalid_message', 'sender_report: last_seq, sent and paused_ms may only grow, by a plausible amount'));
      return;
    }
    // After the relay stopped first (the time limit), the client's last report is what its last window waits for.
    if (m.final) s.finalReport?.peerStopped(at);
  },

  start_server_traffic(_ctx, s) {
    const dc = s.channels.bulk;
    if (s.traffic || !dc) return;
    if (!s.streaming) {
      countRejected('invalid_state');
      sendControl(s, controlError('invalid_state', 'start_server_traffic: probe streams are not running'));
      return;
    }
    const traffic = startBulkSender(dc, (n) => (s.bytes.s2c += n), () => s.clientS2c.rtt_ms[0]);
    s.traffic = traffic;
    // Owned by 'streaming': traffic never outlives the probe streams.
    own(s.machine, () => {
      traffic.stop();
      if (s.traffic === traffic) s.traffic = null;
    });
  },

  request_path_trace(ctx, s) {
    // The message names nothing: the trace goes to the connection's own peer only (path-trace/trace-target.ts).
    if (!ctx.pathTrace) {
      sendControl(s, controlError('unavailable', 'request_path_trace: this relay does not trace paths'));
      return;
    }
    if (!ctx.pathTrace.requested(s)) {
      countRejected('rate_limited');
      sendControl(s, controlError('rate_limited', 'request_path_trace: a trace is running or was asked for moments ago; try again later'));
    }
  },

  stop_server_traffic(_ctx, s) {
    s.traffic?.stop();
    s.traffic = null;
  },

  async start_throughput(ctx, s, m) {
    if (!s.streaming) {
      countRejected('invalid_state');
      sendControl(s, controlError('invalid_state', 'start_throughput: probe streams are not running'));
      return;
    }
    // One load connection at a time: a new test replaces the one running.
    s.load?.close();
    const durationMs = Math.min(m.duration_ms, Math.max(0, s.maxMeasuringMs - measuredSoFar(s)));
    let opened;
    try {
      opened = await openLoadConnection(`${s.peerId}-load`, m.sdp, m.direction, ctx.peer, {
        // The client's own probes' round trip, reported each second: the path the load crosses.
        rttMs: () => s.clientS2c.rtt_ms[0],
        onReceived: (n) => (s.bytes.c2s += n),
        onSent: (n) => (s.bytes.s2c += n),
        onGone: () => {
          if (s.load === load) s.load = null;
        },
      });
    } catch (e) {
      const bad = e instanceof BadOfferError;
      if (bad) countRejected('invalid_message');
      sendControl(s, controlError(bad ? 'invalid_message' : 'unavailable', `start_throughput: ${(e as Error).message}`));
      return;
    }
    const load = opened.load;
    // The streams stopped, or the connection went, while the offer was answered: nothing may start.
    if (!s.streaming) {
      load.close();
      return;
    }
    s.load = load;
    // Owned by 'streaming': the load never outlives the probe streams, nor its duration.
    own(s.machine, () => load.close());
    ownTimeout(s.machine, durationMs + LOAD_GRACE_MS, () => load.close());
    sendControl(s, { type: 'throughput_ready', survey_session_id: m.survey_session_id, conn_id: s.connId, sdp: opened.sdp, duration_ms: durationMs });
  },

  stop_throughput(_ctx, s) {
    s.load?.close();
  },

  probe_stats(ctx, s, m) {
    // One row per second the streams ran, plus the client's final window after they stopped.
    if (!s.streaming && !s.clientFinalDue) return;
    if (!s.streaming) s.clientFinalDue = false;
    s.clientS2c = m.s2c_stats;
    queueMetric(ctx.writer, s, m.survey_session_id, 'client', m.s2c_stats);
  },

  async stop_survey_session(ctx, s, m) {
    endSurvey(ctx.writer, s, 'stopped');
    if (s.streaming) endStreams(ctx, s, nowMs());
    // The last window goes out (and into the queue) before the answer, so the client's summary has it.
    await s.finalReport?.done;
    // Written once per connection (off the event loop); a repeated stop gets the same answer.
    const saved = await saveCapture(ctx, s, m.survey_session_id);
    moveTo(s.machine, 'stopped');
    sendControl(s, { type: 'survey_session_stopped', survey_session_id: m.survey_session_id, conn_id: s.connId, pcap_available: saved });
  },
};
