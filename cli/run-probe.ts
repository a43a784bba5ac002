import { startSurvey, type SurveyEvent, type SurveyHandle } from '../client/survey-client.js';
import type { IpFamily } from '../shared/ip-family.js';
import type { DirectionStats } from '../shared/stats/direction-stats.js';
import type { Responsiveness } from '../shared/stats/responsiveness.js';
import { RELAY_WINDOW_AFTER_END } from '../client/window-pairing.js';
import type { Signal } from '../client/signaling.js';
import { NodeRTCPeerConnection } from './node-peer-connection.js';
import { createSilenceWatch } from './relay-silence.js';

export type StatsEvent = Extract<SurveyEvent, { type: 'stats' }>;

export interface RunProbeOptions {
  url: string;
  key: string;
  durationMs: number;
  connections?: number;
  /** Connections per family (issue 22); `connections` is its older name. */
  paths?: number;
  /** Families side by side, each over `paths` connections held to it (see SurveyClientOptions.families). */
  families?: IpFamily[];
  /** Throughput test, download: the relay sends bulk data. */
  throughput?: boolean;
  /** Throughput test, upload: this client sends bulk data (both at once with `throughput`). */
  upload?: boolean;
  /** Replaces edge signaling, e.g. to talk straight to a relay. */
  signal?: Signal;
  /** Rewrites the relay's answer for the load connection (see SurveyClientOptions). */
  loadAnswer?: (sdp: string) => string;
  /** Connect through the edge's TURN server only (`--relay-only`). */
  relayOnly?: boolean;
  /** Gather with these instead of the edge's `GET /api/ice-servers`. */
  iceServers?: RTCIceServer[];
  /** How long a relay's answer may take to connect before the client tries another (see ConnectOptions). */
  connectTimeoutMs?: number;
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
  /** Each connection's family, path and selected address pair. */
  paths: SurveyHandle['paths'];
  /** Families asked for that could not connect, with why. */
  unavailable: SurveyHandle['unavailable'];
  /** One per connection and window index; a relay window that came late is in its own second. */
  seconds: StatsEvent[];
  /** Relay windows with no client window of their own (the relay's streams ran a second longer). */
  relayOnly: DirectionStats[];
  pcapAvailable: boolean;
  stoppedBy: 'duration' | 'abort' | 'time_limit' | 'error';
  /** Idle and loaded round trips of the client's probes and RPM (draft-ietf-ippm-responsiveness). */
  responsiveness: Responsiveness;
  /** The throughput test stalled or failed (an `error` event said so in words). */
  throughputFailed: boolean;
}

/**
 * Runs one survey end to end with the headless (node-datachannel) client; what `npm run probe` and the tests use.
 * A relay that goes away ends it with stoppedBy 'error' and an `error` event in words, whether it closed the
 * connection (the channels close) or died without a word (nothing arrives for a few seconds, see relay-silence.ts;
 * ICE itself would notice only after its 30 s consent timeout).
 */
export async function runProbe(opts: RunProbeOptions): Promise<RunProbeResult> {
  const seconds: StatsEvent[] = [];
  const relayOnly: DirectionStats[] = [];
  let ended: ((why: RunProbeResult['stoppedBy']) => void) | null = null;
  const end = new Promise<RunProbeResult['stoppedBy']>((resolve) => (ended = resolve));
  const silence = createSilenceWatch();
  let failed = false;
  let throughputFailed = false;
  /** Ends the survey on a fault this function found itself, told like the client's own errors. */
  const failWith = (code: string, message: string) => {
    if (failed) return;
    failed = true;
    opts.onEvent?.({ type: 'error', code, message });
    ended?.('error');
  };
  const survey = await startSurvey({
    baseUrl: opts.url.replace(/\/+$/, ''),
    magicKey: opts.key,
    connections: opts.connections,
    ...(opts.paths !== undefined ? { paths: opts.paths } : {}),
    ...(opts.families ? { families: opts.families } : {}),
    RTCPeerConnection: opts.RTCPeerConnection ?? NodeRTCPeerConnection,
    signal: opts.signal,
    ...(opts.loadAnswer ? { loadAnswer: opts.loadAnswer } : {}),
    ...(opts.relayOnly ? { iceTransportPolicy: 'relay' as const } : {}),
    ...(opts.iceServers ? { iceServers: opts.iceServers } : {}),
    ...(opts.connectTimeoutMs !== undefined ? { connectTimeoutMs: opts.connectTimeoutMs } : {}),
    onEvent: (e) => {
      if (e.type === 'stats') {
        seconds.push(e);
        const silent = silence(e);
        if (silent !== null) {
          failWith('channel_closed', `the connection to the measurement server dropped: nothing has arrived from it for ${silent} s (the server went away or the network failed)`);
        }
      }
      if (e.type === 'relay_window') {
        // A late relay window fills the second of its index: never a second of its own, never counted twice.
        const at = seconds.findIndex((s) => s.conn_id === e.conn_id && s.window_index === e.window_index);
        if (at < 0) relayOnly.push(e.c2s);
        else if (seconds[at]!.c2s === null) {
          const { c2s_missing: _missing, ...rest } = seconds[at]!;
          seconds[at] = { ...rest, c2s: e.c2s };
        }
      }
      if (e.type === 'error' && /^throughput_/.test(e.code)) throughputFailed = true;
      if (e.type === 'stopped' && e.reason === 'time_limit') ended?.('time_limit');
      if (e.type === 'status' && e.status === 'error') ended?.('error');
      opts.onEvent?.(e);
    },
  });
  if (opts.throughput || opts.upload) survey.setTraffic({ download: opts.throughput ?? false, upload: opts.upload ?? false });
  const timer = setTimeout(() => ended?.('duration'), opts.durationMs);
  const onAbort = () => ended?.('abort');
  opts.abort?.addEventListener('abort', onAbort);
  const stoppedBy = await end;
  clearTimeout(timer);
  opts.abort?.removeEventListener('abort', onAbort);
  let pcapAvailable = false;
  if (opts.abrupt || stoppedBy === 'error') survey.close();
  else pcapAvailable = (await survey.stop()).pcap_available;
  // The relay sends its last window before it confirms the stop: a last second without it means the relay did not answer.
  const lastWindows = seconds.filter((e) => e.final);
  const result = { surveySessionId: survey.surveySessionId, connIds: survey.connIds, paths: survey.paths, unavailable: survey.unavailable, seconds, relayOnly, pcapAvailable, responsiveness: survey.responsiveness(), throughputFailed };
  // A last second after the relay's own last window (its streams ended a second earlier) is not a failure.
  if (stoppedBy !== 'error' && lastWindows.some((e) => e.c2s === null && e.c2s_missing !== RELAY_WINDOW_AFTER_END)) {
    failWith('relay_failed', 'the measurement server did not confirm the end of the survey, so its last second is missing (the server went away or the network failed)');
    return { ...result, stoppedBy: 'error' };
  }
  return { ...result, stoppedBy };
}
