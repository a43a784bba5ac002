// Headless survey clients of a relay, for a bench worker: the real client stack (polyfill RTCPeerConnection, startSurvey).
import { RTCPeerConnection } from 'node-datachannel/polyfill';
import { startSurvey } from '../client/survey-client.js';
import type { DirectionStats } from '../shared/stats/direction-stats.js';
import { directSignal } from '../test/helpers/system.js';
import { BENCH_KEY } from './capacity-messages.js';
import { retried, startSessions } from './start-sessions.js';

/** Starts `sessions` surveys straight against the relay; every per-second window (both directions) goes to `onWindow`. */
export async function startRelayClients(relay: { url: string; relayId: string }, sessions: number, onWindow: (s: DirectionStats) => void): Promise<{ stop(): Promise<unknown> }> {
  const start = () =>
    startSurvey({
      baseUrl: '',
      magicKey: BENCH_KEY,
      RTCPeerConnection: RTCPeerConnection as unknown as typeof globalThis.RTCPeerConnection,
      signal: directSignal(relay, { magicKey: BENCH_KEY }),
      // A loopback set-up takes milliseconds; a stuck one is better tried afresh than waited on.
      iceTimeoutMs: 10_000,
      onEvent: (e) => {
        if (e.type !== 'stats' || e.final) return;
        onWindow(e.s2c);
        if (e.c2s) onWindow(e.c2s);
      },
    });
  // libdatachannel now and then refuses good answers in a burst of set-ups, beyond the client's own retries; set-up is not what is measured.
  const handles = await startSessions(sessions, () => retried(start), (h) => h.close());
  return { stop: () => Promise.allSettled(handles.map((h) => h.stop())) };
}
