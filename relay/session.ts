import type { DataChannel, PeerConnection } from 'node-datachannel';
import type { ControlMessage } from '../shared/protocol/control.js';
import { createProbeEndpoint, type ProbeEndpoint } from '../shared/probe/endpoint.js';
import type { Schedule } from '../shared/probe/tick-group.js';
import type { Ticker } from '../shared/probe/ticker.js';
import { emptyDirectionStats, type DirectionStats } from '../shared/stats/direction-stats.js';
import { nowMs } from '../shared/time.js';
import { captureMessage, type ConnCapture } from './capture/capture-buffer.js';
import type { BulkSender } from './throughput.js';

export type ChannelLabel = 'probe' | 'bulk' | 'control';
export const CHANNEL_LABELS: readonly ChannelLabel[] = ['probe', 'bulk', 'control'];

/** Everything about one client connection, in one place; `closeSession` releases all of it. */
export interface Session {
  peerId: string;
  connId: string;
  /** From the edge's signed token: a client cannot choose another over the data channel. */
  magicKey: string;
  userLogin: string | null;
  maxMeasuringMs: number;
  pc: PeerConnection;
  channels: Partial<Record<ChannelLabel, DataChannel>>;
  endpoint: ProbeEndpoint;
  surveyId: string | null;
  /** Probe streams are on. */
  streaming: boolean;
  /**
   * Measuring time the survey used before the current streaming period, over all its connections as known when
   * the period began (the key's limit is per survey), and when that period began.
   */
  measuredMs: number;
  streamingSince: number | null;
  /** The latest s2c stats the client reported. */
  clientS2c: DirectionStats;
  /** The final stats report after the streams stopped (PROTOCOL.md: Tmax after the sender's last report); null when none is due. */
  finalReport: { done: Promise<void>; now: () => void } | null;
  /** The client may still send its final probe_stats after the streams stopped. */
  clientFinalDue: boolean;
  /** Control messages this connection may still send now (token bucket), and when it was last refilled. */
  controlBudget: { tokens: number; at: number; burst: number; perSecond: number };
  /** The control messages taken so far, handled one after another. */
  inbox: Promise<void>;
  /** Control messages refused in a row for being over budget. */
  controlRefused: number;
  /** The measuring-time limit of the current streaming period. */
  limitTimer: ReturnType<typeof setTimeout> | null;
  /** When the client last sent anything (Date.now()): a connection quiet for too long is closed. */
  lastHeardAt: number;
  /** Metric rows written so far by source: with the peer id they make each row's idempotency key. */
  rowSeq: { server: number; client: number };
  traffic: BulkSender | null;
  /** The once-a-second stats report while streams run. */
  statsTicker: Ticker | null;
  /** Bulk bytes this second, each way. */
  bytes: { c2s: number; s2c: number };
  /** The survey's capture of this connection's messages: null before start_survey_session; sealed at its stop. */
  capture: ConnCapture | null;
  /** The client's address as ICE selected it, for the capture file. */
  clientAddr: { ip: string; port: number } | null;
  createdAt: number;
  closed: boolean;
  timers: Set<ReturnType<typeof setTimeout>>;
}

/** A new session for a peer; the probe endpoint sends s2c probes on the probe channel, capturing each. */
export function createSession(
  init: Pick<Session, 'peerId' | 'connId' | 'magicKey' | 'userLogin' | 'maxMeasuringMs' | 'pc'> & {
    /** The relay's shared probe schedule. */
    schedule?: Schedule;
    /** Control messages a connection may send in a burst and per second after it. */
    controlBudget?: { burst: number; perSecond: number };
  },
): Session {
  const { schedule: _schedule, controlBudget: _budget, ...fields } = init;
  const s: Session = {
    ...fields,
    channels: {},
    endpoint: null as unknown as ProbeEndpoint,
    surveyId: null,
    streaming: false,
    measuredMs: 0,
    streamingSince: null,
    clientS2c: emptyDirectionStats(),
    finalReport: null,
    clientFinalDue: false,
    controlBudget: { tokens: init.controlBudget?.burst ?? CONTROL_BURST, at: Date.now(), burst: init.controlBudget?.burst ?? CONTROL_BURST, perSecond: init.controlBudget?.perSecond ?? CONTROL_PER_SECOND },
    controlRefused: 0,
    inbox: Promise.resolve(),
    limitTimer: null,
    lastHeardAt: Date.now(),
    rowSeq: { server: 0, client: 0 },
    traffic: null,
    statsTicker: null,
    bytes: { c2s: 0, s2c: 0 },
    capture: null,
    clientAddr: null,
    createdAt: Date.now(),
    closed: false,
    timers: new Set(),
  };
  s.endpoint = createProbeEndpoint({
    sendDirection: 's2c',
    connId: init.connId,
    schedule: init.schedule,
    send: (text) => {
      const dc = s.channels.probe;
      if (!dc?.isOpen()) return false;
      // A throw (channel closing) is taken by the endpoint as a probe not sent; the close handler ends the session.
      // sendMessage's false means "queued", not "dropped".
      dc.sendMessage(text);
      captureMessage(s.capture, nowMs(), 'r2c', 'probe', text);
      return true;
    },
  });
  return s;
}

/** Sends a control message to the client (and captures it); false if the channel is gone. */
export function sendControl(s: Session, msg: ControlMessage): boolean {
  const dc = s.channels.control;
  if (!dc?.isOpen()) return false;
  const text = JSON.stringify(msg);
  try {
    dc.sendMessage(text);
  } catch {
    return false;
  }
  captureMessage(s.capture, nowMs(), 'r2c', 'control', text);
  return true;
}

/** Measuring time used so far, including the current streaming period. */
export function measuredSoFar(s: Session, now = Date.now()): number {
  return s.measuredMs + (s.streamingSince === null ? 0 : now - s.streamingSince);
}

/** Control messages a connection may send in a burst, and per second after it (about one probe_stats and one sender_report). */
export const CONTROL_BURST = 20;
export const CONTROL_PER_SECOND = 5;

/** Takes one control message from the connection's budget; false when it is over budget. */
export function takeControlToken(s: Session, now = Date.now()): boolean {
  const b = s.controlBudget;
  b.tokens = Math.min(b.burst, b.tokens + ((now - b.at) / 1000) * b.perSecond);
  b.at = now;
  if (b.tokens < 1) return false;
  b.tokens--;
  return true;
}

/**
 * Stops probe streams and server traffic (timers included); the session stays
 * open. `final` is the stats report still due for the stopped streams
 * (the relay's last c2s window, taken once late probes have had Tmax).
 */
export function stopStreams(s: Session, now = Date.now(), final?: () => void): void {
  if (s.streamingSince !== null) s.measuredMs += now - s.streamingSince;
  s.streamingSince = null;
  s.streaming = false;
  s.endpoint.stop();
  s.statsTicker?.stop();
  s.statsTicker = null;
  s.traffic?.stop();
  s.traffic = null;
  if (s.limitTimer) clearTimeout(s.limitTimer);
  s.limitTimer = null;
  if (final && !s.finalReport) {
    let resolve!: () => void;
    const done = new Promise<void>((r) => (resolve = r));
    const takeNow = () => {
      if (s.finalReport?.done !== done) return;
      clearTimeout(timer);
      s.timers.delete(timer);
      s.finalReport = null;
      final();
      resolve();
    };
    const timer = setTimeout(takeNow, FINAL_REPORT_DELAY_MS);
    s.timers.add(timer);
    s.finalReport = { done, now: takeNow };
  }
}

/** The final report waits this long after the streams stop: the receiver's Tmax plus the control channel's way. */
export const FINAL_REPORT_DELAY_MS = 600;

/** Releases everything the session holds: timers, streams, channels, the peer connection. */
export function closeSession(s: Session): void {
  if (s.closed) return;
  s.closed = true;
  stopStreams(s);
  // What the stopped streams measured is still written; sends to the closed client fail quietly.
  s.finalReport?.now();
  for (const t of s.timers) clearTimeout(t);
  s.timers.clear();
  for (const label of CHANNEL_LABELS) {
    try {
      s.channels[label]?.close();
    } catch {
      // Already closed.
    }
  }
  try {
    s.pc.close();
  } catch {
    // Already closed.
  }
}
