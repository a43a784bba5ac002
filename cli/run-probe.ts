import { startSurvey, type SurveyEvent } from '../client/survey-client.js';
import type { Signal } from '../client/signaling.js';
import { NodeRTCPeerConnection } from './node-peer-connection.js';

export type StatsEvent = Extract<SurveyEvent, { type: 'stats' }>;

export interface RunProbeOptions {
  url: string;
  key: string;
  durationMs: number;
  connections?: number;
  throughput?: boolean;
  /** Replaces edge signaling, e.g. to talk straight to a relay. */
  signal?: Signal;
  /** Connect through the edge's TURN server only (`--relay-only`). */
  relayOnly?: boolean;
  /** Gather with these instead of the edge's `GET /api/ice-servers`. */
  iceServers?: RTCIceServer[];
  /** The WebRTC implementation; node-datachannel's polyfill (with TURN credentials escaped) unless given. */
  RTCPeerConnection?: typeof globalThis.RTCPeerConnection;
  /** Skip the explicit stop and just drop the connections (like closing a tab). */
  abrupt?: boolean;
  onEvent?: (e: SurveyEvent) => void;
  /** Ends the survey early (Ctrl-C). */
  abort?: AbortSignal;
}

export interface RunProbeResult {
  surveySessionId: string;
  connIds: string[];
  seconds: StatsEvent[];
  pcapAvailable: boolean;
  stoppedBy: 'duration' | 'abort' | 'time_limit' | 'error';
}

/** Runs one survey end to end with the headless (node-datachannel) client; what `npm run probe` and the tests use. */
export async function runProbe(opts: RunProbeOptions): Promise<RunProbeResult> {
  const seconds: StatsEvent[] = [];
  let ended: ((why: RunProbeResult['stoppedBy']) => void) | null = null;
  const end = new Promise<RunProbeResult['stoppedBy']>((resolve) => (ended = resolve));
  const survey = await startSurvey({
    baseUrl: opts.url.replace(/\/+$/, ''),
    magicKey: opts.key,
    connections: opts.connections,
    RTCPeerConnection: opts.RTCPeerConnection ?? NodeRTCPeerConnection,
    signal: opts.signal,
    ...(opts.relayOnly ? { iceTransportPolicy: 'relay' as const } : {}),
    ...(opts.iceServers ? { iceServers: opts.iceServers } : {}),
    onEvent: (e) => {
      if (e.type === 'stats') seconds.push(e);
      if (e.type === 'stopped' && e.reason === 'time_limit') ended?.('time_limit');
      if (e.type === 'status' && e.status === 'error') ended?.('error');
      opts.onEvent?.(e);
    },
  });
  if (opts.throughput) survey.setServerTraffic(true);
  const timer = setTimeout(() => ended?.('duration'), opts.durationMs);
  const onAbort = () => ended?.('abort');
  opts.abort?.addEventListener('abort', onAbort);
  const stoppedBy = await end;
  clearTimeout(timer);
  opts.abort?.removeEventListener('abort', onAbort);
  let pcapAvailable = false;
  if (opts.abrupt) survey.close();
  else pcapAvailable = (await survey.stop()).pcap_available;
  return { surveySessionId: survey.surveySessionId, connIds: survey.connIds, seconds, pcapAvailable, stoppedBy };
}
