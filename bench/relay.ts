// Relay capacity on this machine, next to the raw message rate of bare node-datachannel measured in the same run.
import nodeDataChannel, { type DataChannel } from 'node-datachannel';
import { RTCPeerConnection } from 'node-datachannel/polyfill';
import { startSurvey, type SurveyHandle } from '../client/survey-client.js';
import { RelayLoadSchema } from '../shared/protocol/relay-api.js';
import { windowCounts } from '../shared/stats/aggregate.js';
import { directSignal, relayToken, startTestDb } from '../test/helpers/system.js';
import { startRelayProcess } from './relay-process.js';

/** Messages per second one unordered, unreliable channel carries one way on loopback, sending as fast as it takes them. */
export async function rawDataChannelRate(seconds = 3): Promise<number> {
  const a = new nodeDataChannel.PeerConnection('a', { iceServers: [], bindAddress: '127.0.0.1' });
  const b = new nodeDataChannel.PeerConnection('b', { iceServers: [], bindAddress: '127.0.0.1' });
  a.onLocalDescription((sdp, type) => b.setRemoteDescription(sdp, type));
  b.onLocalDescription((sdp, type) => a.setRemoteDescription(sdp, type));
  a.onLocalCandidate((c, mid) => b.addRemoteCandidate(c, mid));
  b.onLocalCandidate((c, mid) => a.addRemoteCandidate(c, mid));
  let received = 0;
  const gotChannel = new Promise<DataChannel>((resolve) => b.onDataChannel((dc) => resolve(dc)));
  const dc = a.createDataChannel('probe', { unordered: true, maxRetransmits: 0 });
  await new Promise<void>((resolve) => dc.onOpen(() => resolve()));
  const rx = await gotChannel;
  rx.onMessage(() => received++);
  // A probe-sized message.
  const msg = JSON.stringify({ seq: 123456, sent_at_ms: 1764000000123.456, direction: 'c2s', conn_id: crypto.randomUUID(), echo: { seq: 1, sent_at_ms: 1, held_ms: 1 } });
  const end = Date.now() + seconds * 1000;
  dc.setBufferedAmountLowThreshold(64 * 1024);
  await new Promise<void>((resolve) => {
    const fill = () => {
      while (Date.now() < end && dc.bufferedAmount() < 256 * 1024) dc.sendMessage(msg);
      if (Date.now() >= end) resolve();
    };
    dc.onBufferedAmountLow(fill);
    const t = setInterval(() => (Date.now() >= end ? (clearInterval(t), resolve()) : fill()), 5);
    fill();
  });
  await new Promise((r) => setTimeout(r, 300));
  dc.close();
  rx.close();
  a.close();
  b.close();
  return received / seconds;
}

/** Runs `n` probing sessions for `seconds`; returns the c2s loss the relay measured and the s2c loss clients measured over the steady seconds. */
async function level(relay: { url: string; relayId: string }, n: number, seconds: number) {
  const stats: { c2sLost: number; c2sProbes: number; s2cLost: number; s2cProbes: number } = { c2sLost: 0, c2sProbes: 0, s2cLost: 0, s2cProbes: 0 };
  let warm = false;
  const handles: SurveyHandle[] = await Promise.all(
    Array.from({ length: n }, () =>
      startSurvey({
        baseUrl: '',
        magicKey: 'bench',
        RTCPeerConnection: RTCPeerConnection as unknown as typeof globalThis.RTCPeerConnection,
        signal: directSignal(relay, { magicKey: 'bench' }),
        iceTimeoutMs: 30_000,
        onEvent: (e) => {
          if (e.type !== 'stats' || !warm) return;
          if (e.c2s) {
            const c = windowCounts(e.c2s);
            stats.c2sProbes += c.expected;
            stats.c2sLost += c.lost;
          }
          const d = windowCounts(e.s2c);
          stats.s2cProbes += d.expected;
          stats.s2cLost += d.lost;
        },
      }),
    ),
  );
  const load = async (reset: boolean) =>
    RelayLoadSchema.parse(
      await (await fetch(`${relay.url}/internal/load${reset ? '?reset_slip=1' : ''}`, { headers: { authorization: `Bearer ${await relayToken(relay, { op: 'load' })}` } })).json(),
    );
  // Connection set-up (DTLS handshakes) stalls the loop; measure the steady state after it.
  await new Promise((r) => setTimeout(r, 2_000));
  await load(true);
  warm = true;
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const steady = await load(false);
  warm = false;
  await Promise.all(handles.map((h) => h.stop()));
  const lossPct = (100 * (stats.c2sLost + stats.s2cLost)) / Math.max(1, stats.c2sProbes + stats.s2cProbes);
  return { lossPct, probes: stats.c2sProbes + stats.s2cProbes, slipP99: steady.timer_slip_p99_ms ?? 0 };
}

/** How many concurrent probing sessions the relay sustains with < 0.1 % self-inflicted loss, as a ratio of raw channel capacity. */
export async function benchRelay(): Promise<Record<string, number | string>> {
  const raw = await rawDataChannelRate();
  const db = await startTestDb();
  const relay = await startRelayProcess(db.url, db.authToken, db.dir);
  const out: Record<string, number | string> = { 'raw node-datachannel msgs/s (one channel, one way)': Math.round(raw) };
  const levels = [5, 10, 20, 40, 80, 160];
  let sustained = 0;
  let slipAtSustained = 0;
  try {
    for (const n of levels) {
      const r = await level(relay, n, 4);
      out[`${n} sessions: loss % / relay timer slip p99 ms`] = `${r.lossPct.toFixed(3)} / ${r.slipP99.toFixed(2)}`;
      if (r.lossPct >= 0.1) break;
      sustained = n;
      slipAtSustained = r.slipP99;
    }
  } finally {
    await relay.stop();
    await db.close();
  }
  out['sessions sustained with < 0.1 % loss (clients share this machine)'] = sustained === levels.at(-1) ? `>= ${sustained} (highest level tried)` : sustained;
  out['relay probe-timer slip p99 at that load (ms)'] = slipAtSustained;
  // Each session moves 200 probe messages a second (100 each way) through the relay.
  out['ratio: sustained probe msgs/s ÷ raw channel msgs/s'] = (sustained * 200) / raw;
  return out;
}
