import type { DataChannel, PeerConnection } from 'node-datachannel';
import { plainAddress } from '../shared/address-prefix.js';
import { ipFamily, type IpFamily } from '../shared/ip-family.js';
import type { ControlMessage } from '../shared/protocol/control.js';
import { createProbeEndpoint, type ProbeEndpoint } from '../shared/probe/endpoint.js';
import { waitFinalWindow, type FinalWindow } from '../shared/probe/final-window.js';
import type { Schedule } from '../shared/probe/tick-group.js';
import { startTicker } from '../shared/probe/ticker.js';
import { emptyDirectionStats, type DirectionStats } from '../shared/stats/direction-stats.js';
import { nowMs } from '../shared/time.js';
import { captureMessage, type ConnCapture } from './capture/capture-buffer.js';
import type { BulkSender, LoadConnection } from './throughput.js';
import { createStateMachine, moveTo, own, ownTimeout, type StateMachine } from './session-state.js';

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
  /** The connection's state and what each live state holds (session-state.ts): every timer and stream is owned there. */
  machine: StateMachine;
  /** Probe streams are on (the state is 'streaming'). */
  readonly streaming: boolean;
  /**
   * Measuring time the survey used before the current streaming period, over all its connections as known when
   * the period began (the key's limit is per survey), and when that period began.
   */
  measuredMs: number;
  streamingSince: number | null;
  /** The latest s2c stats the client reported. */
  clientS2c: DirectionStats;
  /** The final stats report after the streams stopped (Tmax after the client's last sender_report, final-window.ts); null when none is due. */
  finalReport: FinalWindow | null;
  /** The client may still send its final probe_stats after the streams stopped. */
  clientFinalDue: boolean;
  /** Control messages this connection may still send now (token bucket), and when it was last refilled. */
  controlBudget: { tokens: number; at: number; burst: number; perSecond: number };
  /** The control messages taken so far, handled one after another. */
  inbox: Promise<void>;
  /** Control messages refused in a row for being over budget. */
  controlRefused: number;
  /** Arms of the measuring-time limit so far: only the latest may fire. */
  limitArm: number;
  /** When the client last sent anything (Date.now()): a connection quiet for too long is closed. */
  lastHeardAt: number;
  /** Metric rows written so far by source: with the peer id they make each row's idempotency key. */
  rowSeq: { server: number; client: number };
  /** Server bulk traffic while it runs (owned by the 'streaming' state). */
  traffic: BulkSender | null;
  /** The throughput test's own peer connection while it runs (owned by the 'streaming' state). */
  load: LoadConnection | null;
  /** Bulk bytes this window, each way. */
  bytes: { c2s: number; s2c: number };
  /** When the current stats window opened (nowMs): per-second rates divide by the window's real length. */
  windowOpenedAt: number;
  /** The survey's capture of this connection's messages: null before start_survey_session; sealed at its stop. */
  capture: ConnCapture | null;
  /** The client's address as ICE selected it, for the capture file. */
  clientAddr: { ip: string; port: number } | null;
  /** PROTOCOL §2 v3: the family the client held this connection to and its path within it (null: it named none). */
  family: IpFamily | null;
  pathIndex: number | null;
  /** The address pair ICE selected (the relay's side, the client's as seen here) and the client candidate's type. */
  pair: { local: { ip: string; port: number }; remote: { ip: string; port: number }; remoteType: string } | null;
  createdAt: number;
  /** Everything is released (the state is 'closed'). */
  readonly closed: boolean;
}

/** A new session for a peer; the probe endpoint sends s2c probes on the probe channel, capturing each. */
export function createSession(
  init: Pick<Session, 'peerId' | 'connId' | 'magicKey' | 'userLogin' | 'maxMeasuringMs' | 'pc'> & Partial<Pick<Session, 'family' | 'pathIndex'>> & {
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
    machine: createStateMachine(),
    get streaming() {
      return this.machine.state === 'streaming';
    },
    measuredMs: 0,
    streamingSince: null,
    clientS2c: emptyDirectionStats(),
    finalReport: null,
    clientFinalDue: false,
    controlBudget: { tokens: init.controlBudget?.burst ?? CONTROL_BURST, at: Date.now(), burst: init.controlBudget?.burst ?? CONTROL_BURST, perSecond: init.controlBudget?.perSecond ?? CONTROL_PER_SECOND },
    controlRefused: 0,
    inbox: Promise.resolve(),
    limitArm: 0,
    lastHeardAt: Date.now(),
    rowSeq: { server: 0, client: 0 },
    traffic: null,
    load: null,
    bytes: { c2s: 0, s2c: 0 },
    windowOpenedAt: 0,
    capture: null,
    clientAddr: null,
    family: init.family ?? null,
    pathIndex: init.pathIndex ?? null,
    pair: null,
    createdAt: Date.now(),
    get closed() {
      return this.machine.state === 'closed';
    },
  };
  // The peer connection and its channels live as long as the connection.
  own(s.machine, () => s.pc.close(), 'connection');
  own(
    s.machine,
    () => {
      for (const label of CHANNEL_LABELS) s.channels[label]?.close();
    },
    'connection',
  );
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
      return true;
    },
    queued: () => s.channels.probe?.bufferedAmount() ?? 0,
    // Outside the timed send: the capture's cost is not the probe's time to leave.
    sent: (text) => captureMessage(s.capture, nowMs(), 'r2c', 'probe', text),
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
 * Starts the probe streams: the connection moves to 'streaming', which owns
 * the probe ticker, the stats ticker (`onSecond`) and the measuring-time
 * accounting of this period; leaving the state stops all of them.
 */
export function startStreams(s: Session, onSecond: () => void, now = Date.now()): boolean {
  if (!moveTo(s.machine, 'streaming')) return false;
  s.streamingSince = now;
  s.windowOpenedAt = nowMs();
  // The client's probes count from the first that arrives now: those it sent before this start were not listened to.
  s.endpoint.expectPeerStart();
  s.endpoint.start();
  own(s.machine, () => s.endpoint.stop());
  const stats = startTicker(1000, onSecond);
  own(s.machine, () => stats.stop());
  own(s.machine, () => {
    if (s.streamingSince !== null) s.measuredMs += Date.now() - s.streamingSince;
    s.streamingSince = null;
  });
  return true;
}

/**
 * Stops probe streams and server traffic: the connection goes back to
 * 'surveying', releasing everything the streaming state held; it stays open.
 * `final` is the stats report still due for the stopped streams (the relay's
 * last c2s window), taken once the client's last sender_report is Tmax old:
 * `peerStoppedAt` when the client has stopped already (it asked for the
 * stop), else when its last report arrives (`finalReport.peerStopped`), at
 * most a few seconds from now.
 */
export function stopStreams(s: Session, final?: () => void, peerStoppedAt: number | null = null): void {
  if (!s.streaming) return;
  moveTo(s.machine, 'surveying');
  if (final && !s.finalReport) {
    const window: FinalWindow = waitFinalWindow(
      () => {
        if (s.finalReport === window) s.finalReport = null;
        final();
      },
      {
        stoppedAt: nowMs(),
        peerStoppedAt,
        now: nowMs,
        // The connection's, not the survey's: a stop of the survey must not cancel the window it waits for.
        after: (ms, fire) => ownTimeout(s.machine, ms, fire, 'connection'),
      },
    );
    s.finalReport = window;
  }
}

/** Releases everything the session holds: the last window is written, then every state's timers, streams, channels and the peer connection go. */
export function closeSession(s: Session): void {
  if (s.closed) return;
  if (s.streaming) stopStreams(s);
  // What the stopped streams measured is still written; sends to the closed client fail quietly.
  s.finalReport?.closeNow();
  moveTo(s.machine, 'closed');
}

/** The family a connection's rows carry: the one the client held it to, else the one its ICE ended on (null before that). */
export function connectionFamily(s: Pick<Session, 'family' | 'pair'>): IpFamily | null {
  return s.family ?? (s.pair ? ipFamily(s.pair.remote.ip) : null);
}

/** Reads the pair ICE has selected now into the session (it may change after 'connected' while checks go on). */
export function notePair(s: Pick<Session, 'pc' | 'pair'>): void {
  let pair;
  try {
    pair = s.pc.getSelectedCandidatePair();
  } catch {
    return; // closed
  }
  if (!pair) return;
  s.pair = { local: { ip: plainAddress(pair.local.address), port: pair.local.port }, remote: { ip: plainAddress(pair.remote.address), port: pair.remote.port }, remoteType: pair.remote.type };
}
