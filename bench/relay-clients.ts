// Headless survey clients of a relay, for a bench worker: the real client stack (polyfill RTCPeerConnection, startSurvey).
import { RTCPeerConnection } from 'node-datachannel/polyfill';
import { startSurvey } from '../client/survey-client.js';
import type { DirectionStats } from '../shared/stats/direction-stats.js';
import { directSignal } from '../test/helpers/system.js';

/** Starts `sessions` surveys straight against the relay; every per-second window (both directions) goes to `onWindow`. */
/**
 * A session that could not be set up is started afresh: libdatachannel now and
 * then refuses good answers in a burst of set-ups ("remote candidate without ICE
 * transport"), beyond the client's own retries. Set-up is not what is measured.
 */
async function retried<T>(start: () => Promise<T>, tries = 3): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await start();
    } catch (e) {
      if (i >= tries) throw e;
      await new Promise((r) => setTimeout(r, 200 * i));
    }
  }
}

export async function startRelayClients(relay: { url: string; relayId: string }, sessions: number, onWindow: (s: DirectionStats) => void): Promise<{ stop(): Promise<unknown> }> {
  const start = () =>
    startSurvey({
      baseUrl: '',
      magicKey: 'bench',
      RTCPeerConnection: RTCPeerConnection as unknown as typeof globalThis.RTCPeerConnection,
      signal: directSignal(relay, { magicKey: 'bench' }),
      iceTimeoutMs: 30_000,
      onEvent: (e) => {
        if (e.type !== 'stats' || e.final) return;
        onWindow(e.s2c);
        if (e.c2s) onWindow(e.c2s);
      },
    });
  const started = await Promise.allSettled(Array.from({ length: sessions }, () => retried(start)));
  const handles = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    for (const h of handles) h.close();
    throw failed.reason;
  }
  return { stop: () => Promise.allSettled(handles.map((h) => h.stop())) };
}
