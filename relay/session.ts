import type { DataChannel, PeerConnection } from 'node-datachannel';
import type { ControlMessage } from '../shared/protocol/control.js';
import { createProbeEndpoint, type ProbeEndpoint } from '../shared/probe/endpoint.js';
import type { Schedule } from '../shared/probe/tick-group.js';
import type { Ticker } from '../shared/probe/ticker.js';
import { emptyDirectionStats, type DirectionStats } from '../shared/stats/direction-stats.js';
import { nowMs } from '../shared/time.js';
import { capture, createCaptureRing, type CaptureRing } from './capture/capture-ring.js';
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
  /** Measuring time used before the current streaming period, and when that period began. */
  measuredMs: number;
  streamingSince: number | null;
  /** The latest s2c stats the client reported. */
  clientS2c: DirectionStats;
  traffic: BulkSender | null;
  /** The once-a-second stats report while streams run. */
  statsTicker: Ticker | null;
  /** Bulk bytes this second, each way. */
  bytes: { c2s: number; s2c: number };
  capture: CaptureRing;
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
  },
): Session {
  const { schedule: _schedule, ...fields } = init;
  const s: Session = {
    ...fields,
    channels: {},
    endpoint: null as unknown as ProbeEndpoint,
    surveyId: null,
    streaming: false,
    measuredMs: 0,
    streamingSince: null,
    clientS2c: emptyDirectionStats(),
    traffic: null,
    statsTicker: null,
    bytes: { c2s: 0, s2c: 0 },
    capture: createCaptureRing(),
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
      if (!dc?.isOpen()) return;
      try {
        dc.sendMessage(text);
        capture(s.capture, { at_ms: nowMs(), dir: 'r2c', channel: 'probe', data: text });
      } catch {
        // A probe that cannot be sent is a lost probe; the channel's close handler ends the session.
      }
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
  capture(s.capture, { at_ms: nowMs(), dir: 'r2c', channel: 'control', data: text });
  return true;
}

/** Measuring time used so far, including the current streaming period. */
export function measuredSoFar(s: Session, now = Date.now()): number {
  return s.measuredMs + (s.streamingSince === null ? 0 : now - s.streamingSince);
}

/** Stops probe streams and server traffic (timers included); the session stays open. */
export function stopStreams(s: Session, now = Date.now()): void {
  if (s.streamingSince !== null) s.measuredMs += now - s.streamingSince;
  s.streamingSince = null;
  s.streaming = false;
  s.endpoint.stop();
  s.statsTicker?.stop();
  s.statsTicker = null;
  s.traffic?.stop();
  s.traffic = null;
}

/** Releases everything the session holds: timers, streams, channels, the peer connection. */
export function closeSession(s: Session): void {
  if (s.closed) return;
  s.closed = true;
  stopStreams(s);
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
