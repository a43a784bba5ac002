// Headless survey clients for the capacity bench: the real client stack (startSurvey, node-datachannel's polyfill, the
// real protocol). Each session's own probe sends are counted, and the relay's windows and sender reports are read as
// they arrive on the control channel, so what was delivered each way is held against what its sender sent.
import { RTCPeerConnection } from 'node-datachannel/polyfill';
import { startSurvey } from '../client/survey-client.js';
import { parseControlMessage } from '../shared/protocol/control.js';
import { directSignal } from '../test/helpers/system.js';
import { BENCH_KEY, type SentRecord, type WindowRecord } from './capacity-messages.js';
import { retried, startSessions } from './start-sessions.js';

/** What one session's taps report. */
export interface ClientTaps {
  onWindow(w: WindowRecord): void;
  onSent(s: SentRecord): void;
}

/** One session's count of the probes it sent. */
interface SessionTap {
  sent: number;
}

/**
 * A polyfill peer connection class whose 'probe' channel counts the messages
 * it took (the client endpoint's own `sent`), and whose 'control' channel
 * passes on the relay's c2s windows and sender reports.
 */
function tappedPeerConnection(tap: SessionTap, taps: ClientTaps): typeof globalThis.RTCPeerConnection {
  class Tapped extends RTCPeerConnection {
    override createDataChannel(label: string, init?: RTCDataChannelInit) {
      const dc = super.createDataChannel(label, init);
      if (label === 'probe') {
        const send = dc.send.bind(dc);
        // Counted once send returns, as the endpoint counts it; a send that throws (channel closed) counts on neither side.
        dc.send = (data: Parameters<typeof send>[0]) => {
          send(data);
          tap.sent++;
        };
      } else if (label === 'control') {
        dc.addEventListener('message', (e) => {
          const parsed = parseControlMessage((e as MessageEvent).data);
          if (!parsed.ok) return;
          const m = parsed.message;
          // Stamped with the relay's own time of the count (the same machine's clock), not its arrival: a busy client loop must not move it.
          if (m.type === 'probe_stats') taps.onWindow({ session: m.conn_id, at: m.timestamp_ms, direction: 'c2s', stats: m.c2s_stats });
          else if (m.type === 'sender_report') taps.onSent({ session: m.conn_id, at: m.timestamp_ms, direction: 's2c', sent: m.sent });
        });
      }
      return dc;
    }
  }
  return Tapped as unknown as typeof globalThis.RTCPeerConnection;
}

/**
 * Starts `sessions` surveys straight against the relay. Each window a client
 * closes goes to `onWindow` (s2c) with, to `onSent`, the probes it had sent by
 * then (c2s); each of the relay's windows (c2s) and sender reports (s2c) as it
 * reaches the client.
 */
export async function startCapacityClients(relay: { url: string; relayId: string }, sessions: number, taps: ClientTaps): Promise<{ stop(): Promise<unknown> }> {
  const start = () => {
    const tap: SessionTap = { sent: 0 };
    return startSurvey({
      baseUrl: '',
      magicKey: BENCH_KEY,
      RTCPeerConnection: tappedPeerConnection(tap, taps),
      signal: directSignal(relay, { magicKey: BENCH_KEY }),
      iceTimeoutMs: 30_000,
      onEvent: (e) => {
        if (e.type !== 'stats' || e.final) return;
        taps.onWindow({ session: e.conn_id, at: e.timestamp_ms, direction: 's2c', stats: e.s2c });
        taps.onSent({ session: e.conn_id, at: e.timestamp_ms, direction: 'c2s', sent: tap.sent });
      },
    });
  };
  // libdatachannel now and then refuses good answers in a burst of set-ups, beyond the client's own retries; set-up is not what is measured.
  const handles = await startSessions(sessions, () => retried(start), (h) => h.close());
  return { stop: () => Promise.allSettled(handles.map((h) => h.stop())) };
}
