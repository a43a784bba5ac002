import { createProbeEndpoint, type ProbeEndpoint } from '../shared/probe/endpoint.js';
import { startTicker, type Ticker } from '../shared/probe/ticker.js';
import { parseControlMessage, type ControlMessage, type ControlOf } from '../shared/protocol/control.js';
import type { Throughput } from '../shared/protocol/stats.js';
import { emptyDirectionStats, type DirectionStats } from '../shared/stats/direction-stats.js';
import { nowMs } from '../shared/time.js';
import { openConnection, type Connection } from './connection.js';
import { edgeSignal, SurveyError, type Signal } from './signaling.js';

export { SurveyError } from './signaling.js';

export interface SurveyClientOptions {
  /** Edge origin; '' means the page's own origin. */
  baseUrl: string;
  magicKey: string;
  /** 1..4 parallel peer connections sharing one survey_session_id (multi-path mode). */
  connections?: number;
  RTCPeerConnection: typeof RTCPeerConnection;
  fetch?: typeof fetch;
  /** Replaces the edge signaling (tests that talk straight to a relay). */
  signal?: Signal;
  iceTimeoutMs?: number;
  onEvent?: (e: SurveyEvent) => void;
}

export type SurveyStatus = 'connecting' | 'connected' | 'measuring' | 'stopping' | 'stopped' | 'error';

export type SurveyEvent =
  | { type: 'status'; status: SurveyStatus }
  | { type: 'error'; code: string; message: string }
  | { type: 'measuring_time'; max_duration_ms: number }
  | { type: 'stats'; conn_id: string; timestamp_ms: number; c2s: DirectionStats; s2c: DirectionStats; throughput?: Throughput }
  | { type: 'stopped'; pcap_available: boolean; reason: 'explicit' | 'time_limit' | 'closed' };

export interface SurveyHandle {
  readonly surveySessionId: string;
  readonly connIds: string[];
  setServerTraffic(on: boolean): void;
  /** Explicit stop: stops the streams, asks the relay to save the capture, waits for its answer, closes. */
  stop(): Promise<{ pcap_available: boolean }>;
  /** Abrupt end, like closing the tab: no capture is saved. */
  close(): void;
}

/** One connection's live state. */
interface Leg {
  conn: Connection;
  endpoint: ProbeEndpoint;
  relayC2s: DirectionStats;
  relayThroughput: Throughput | undefined;
  s2cBytes: number;
  waiters: Map<string, (m: ControlMessage) => void>;
}

const CONTROL_REPLY_TIMEOUT_MS = 10_000;

/** Connects, starts a survey on every connection and begins probing; resolves once measuring. */
export async function startSurvey(opts: SurveyClientOptions): Promise<SurveyHandle> {
  const emit = opts.onEvent ?? (() => {});
  const count = Math.min(4, Math.max(1, Math.floor(opts.connections ?? 1)));
  const surveySessionId = crypto.randomUUID();
  const signal = opts.signal ?? edgeSignal(opts.baseUrl, opts.magicKey, opts.fetch ?? fetch.bind(globalThis));
  let finished = false;
  let ticker: Ticker | null = null;

  /** Ends the survey once: stops every timer and probe stream, closes every peer; false if it had already ended. */
  const finish = (): boolean => {
    if (finished) return false;
    finished = true;
    ticker?.stop();
    for (const l of legs) {
      l.endpoint.stop();
      l.conn.close();
    }
    return true;
  };

  const fail = (code: string, message: string) => {
    if (!finish()) return;
    emit({ type: 'error', code, message });
    emit({ type: 'status', status: 'error' });
  };

  emit({ type: 'status', status: 'connecting' });
  const legs: Leg[] = [];
  try {
    const conns = await Promise.all(
      Array.from({ length: count }, () =>
        openConnection({ RTCPeerConnection: opts.RTCPeerConnection, signal, connId: crypto.randomUUID(), iceTimeoutMs: opts.iceTimeoutMs ?? 10_000 }),
      ),
    );
    for (const conn of conns) legs.push(wireLeg(conn));
  } catch (e) {
    for (const l of legs) l.conn.close();
    const err = e instanceof SurveyError ? e : new SurveyError('network_error', String((e as Error)?.message ?? e));
    emit({ type: 'error', code: err.code, message: err.message });
    emit({ type: 'status', status: 'error' });
    throw err;
  }
  emit({ type: 'status', status: 'connected' });

  function wireLeg(conn: Connection): Leg {
    const leg: Leg = {
      conn,
      endpoint: createProbeEndpoint({
        sendDirection: 'c2s',
        connId: conn.connId,
        send: (text) => {
          if (conn.channels.probe.readyState === 'open') conn.channels.probe.send(text);
        },
      }),
      relayC2s: emptyDirectionStats(),
      relayThroughput: undefined,
      s2cBytes: 0,
      waiters: new Map(),
    };
    conn.channels.probe.onmessage = (e) => leg.endpoint.receive(e.data, nowMs());
    conn.channels.bulk.onmessage = (e) => {
      leg.s2cBytes += typeof e.data === 'string' ? e.data.length : (e.data as ArrayBuffer).byteLength;
    };
    conn.channels.control.onmessage = (e) => onControl(leg, e.data);
    for (const label of ['probe', 'control'] as const) {
      conn.channels[label].addEventListener('close', () => fail('channel_closed', 'the connection to the measurement server dropped'));
    }
    return leg;
  }

  function onControl(leg: Leg, data: unknown) {
    const parsed = parseControlMessage(data);
    if (!parsed.ok) return; // A relay speaking nonsense must not break the survey.
    const m = parsed.message;
    const waiter = leg.waiters.get(m.type);
    if (waiter) {
      leg.waiters.delete(m.type);
      waiter(m);
    }
    if (m.type === 'probe_stats') {
      leg.relayC2s = m.c2s_stats;
      leg.relayThroughput = m.throughput;
    } else if (m.type === 'measuring_time_response') {
      emit({ type: 'measuring_time', max_duration_ms: m.max_duration_ms });
    } else if (m.type === 'error') {
      if (m.code === 'time_limit_reached') endByRelay('time_limit');
      else emit({ type: 'error', code: m.code, message: m.message });
    }
  }

  const send = (leg: Leg, msg: ControlMessage) => {
    if (leg.conn.channels.control.readyState === 'open') leg.conn.channels.control.send(JSON.stringify(msg));
  };
  const request = <T extends ControlMessage['type']>(leg: Leg, msg: ControlMessage, reply: T): Promise<ControlOf<T>> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        leg.waiters.delete(reply);
        reject(new SurveyError('relay_failed', `the measurement server did not answer ${msg.type}`));
      }, CONTROL_REPLY_TIMEOUT_MS);
      leg.waiters.set(reply, (m) => {
        clearTimeout(timer);
        resolve(m as ControlOf<T>);
      });
      send(leg, msg);
    });
  const ids = (leg: Leg) => ({ survey_session_id: surveySessionId, conn_id: leg.conn.connId });

  const endByRelay = (reason: 'time_limit') => {
    if (!finish()) return;
    emit({ type: 'stopped', pcap_available: false, reason });
    emit({ type: 'status', status: 'stopped' });
  };

  try {
    await Promise.all(legs.map((leg) => request(leg, { type: 'start_survey_session', ...ids(leg) }, 'server_side_ready')));
    await Promise.all(legs.map((leg) => request(leg, { type: 'get_measuring_time', ...ids(leg) }, 'measuring_time_response')));
  } catch (e) {
    const err = e as SurveyError;
    fail(err.code ?? 'relay_failed', err.message);
    throw err;
  }
  for (const leg of legs) {
    send(leg, { type: 'start_probe_streams', ...ids(leg) });
    leg.endpoint.start();
  }
  emit({ type: 'status', status: 'measuring' });

  ticker = startTicker(1000, () => {
    for (const leg of legs) {
      const s2c = leg.endpoint.report();
      const timestamp = nowMs();
      send(leg, { type: 'probe_stats', ...ids(leg), timestamp_ms: timestamp, c2s_stats: emptyDirectionStats(), s2c_stats: s2c });
      const throughput = { c2s_bytes_per_s: leg.relayThroughput?.c2s_bytes_per_s ?? 0, s2c_bytes_per_s: leg.s2cBytes };
      leg.s2cBytes = 0;
      emit({ type: 'stats', conn_id: leg.conn.connId, timestamp_ms: timestamp, c2s: leg.relayC2s, s2c, throughput });
    }
  });

  return {
    surveySessionId,
    connIds: legs.map((l) => l.conn.connId),
    setServerTraffic(on) {
      for (const leg of legs) send(leg, { type: on ? 'start_server_traffic' : 'stop_server_traffic', ...ids(leg) });
    },
    async stop() {
      if (finished) return { pcap_available: false };
      finished = true;
      emit({ type: 'status', status: 'stopping' });
      ticker?.stop();
      for (const leg of legs) {
        leg.endpoint.stop();
        send(leg, { type: 'stop_probe_streams', ...ids(leg) });
      }
      let pcap = false;
      try {
        const replies = await Promise.all(legs.map((leg) => request(leg, { type: 'stop_survey_session', ...ids(leg) }, 'survey_session_stopped')));
        pcap = replies.every((r) => r.pcap_available);
      } catch {
        pcap = false;
      }
      for (const l of legs) l.conn.close();
      emit({ type: 'stopped', pcap_available: pcap, reason: 'explicit' });
      emit({ type: 'status', status: 'stopped' });
      return { pcap_available: pcap };
    },
    close() {
      if (!finish()) return;
      emit({ type: 'stopped', pcap_available: false, reason: 'closed' });
      emit({ type: 'status', status: 'stopped' });
    },
  };
}
