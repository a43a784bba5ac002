// Signaling through the edge (workerd, with its database reads and signed relay call) next to signaling
// straight to the relay, interleaved in one run so the ratio holds on a noisy machine; then connection
// set-up time through the edge (offer → all three channels open); then the edge with its database at a
// distance: per request type, the database round trips a counting proxy sees and the latency, at 0 and 50 ms.
import { RTCPeerConnection } from 'node-datachannel/polyfill';
import { openConnection } from '../client/connection.js';
import { edgeSignal } from '../client/signaling.js';
import { createMagicKey } from '../shared/db/keys.js';
import { uuid } from '../shared/ids.js';
import { RelayCreatePeerResponseSchema, SignalingStartResponseSchema } from '../shared/protocol/index.js';
import { nearestRank } from '../shared/stats/percentiles.js';
import type { RelayHandle } from '../relay/relay.js';
import { makeOffer, peekClaims, startTestEdge, type TestEdge } from '../test/helpers/edge.js';
import { eventually, relayToken, testKeyId, startTestDb, startTestRelay } from '../test/helpers/system.js';
import { REQUEST_TYPES, startDistanceStack, type RequestType } from '../test/helpers/edge-distance.js';

const OFFERS = 30;
const WARMUP = 3;
const SETUPS = 10;

/** Offer→answer latency via the edge vs straight to the relay, set-up time via the edge, and the edge at database distance. */
export async function benchEdge(): Promise<Record<string, number | string>> {
  return { ...(await benchSignaling()), ...(await benchDistance()) };
}

/** The database's distance, one way, in the far half of the distance rows (a Turso primary a continent away). */
const FAR_ONE_WAY_MS = 50;
/** Samples per request type and distance, after one warm-up. */
const DISTANCE_SAMPLES = 5;

/**
 * The round-trip target of a request type (issue 20): signaling 1 to the database (plus the relay's
 * own answer, which the proxy does not see), every other type at most 2.
 */
const roundTripTarget = (type: RequestType) => (type.startsWith('signaling') ? 1 : 2);

/** Per request type: database round trips (requests) and latency p50 at 0 ms and at FAR_ONE_WAY_MS, PASS/MISS at the far one. */
async function benchDistance(): Promise<Record<string, string>> {
  const s = await startDistanceStack();
  try {
    const seen = new Map<RequestType, { roundTrips: number; requests: number; ms: number }[]>();
    for (const oneWay of [0, FAR_ONE_WAY_MS]) {
      s.proxy.setDelay(oneWay);
      // A fresh session for each half: one used for over a minute costs a touch (a write) once.
      await s.relogin();
      for (const type of REQUEST_TYPES) {
        await s.measure(type);
        const samples = [];
        for (let i = 0; i < DISTANCE_SAMPLES; i++) samples.push(await s.measure(type));
        const median = (values: number[]) => [...values].sort((x, y) => x - y)[Math.floor(values.length / 2)]!;
        seen.set(type, [
          ...(seen.get(type) ?? []),
          { roundTrips: median(samples.map((x) => x.traffic.roundTrips)), requests: median(samples.map((x) => x.traffic.requests)), ms: median(samples.map((x) => x.ms)) },
        ]);
      }
    }
    const rows: Record<string, string> = { 'database distance, one way (near / far)': `0 / ${FAR_ONE_WAY_MS} ms; per type: round trips (requests), p50` };
    for (const type of REQUEST_TYPES) {
      const [near, far] = seen.get(type)!;
      const target = roundTripTarget(type);
      // Signaling's latency holds the relay's answer too: what the database's round trips do not explain of it.
      const beside = type.startsWith('signaling') ? `, plus the relay's answer (${(far!.ms - far!.roundTrips * 2 * FAR_ONE_WAY_MS).toFixed(1)} ms at the far end)` : '';
      rows[`at distance: ${type}`] =
        `${near!.roundTrips} (${near!.requests}) / ${far!.roundTrips} (${far!.requests}) round trips, ` +
        `${near!.ms.toFixed(1)} / ${far!.ms.toFixed(1)} ms — ${far!.roundTrips <= target ? 'PASS' : 'MISS'} (≤ ${target}${beside})`;
    }
    return rows;
  } finally {
    await s.close();
  }
}

/** Offer→answer latency via the edge vs straight to the relay, and set-up time via the edge. */
async function benchSignaling(): Promise<Record<string, number | string>> {
  const db = await startTestDb();
  let relay: RelayHandle | null = null;
  let edge: TestEdge | null = null;
  try {
    relay = await startTestRelay(db, { capacity: 1000 });
    edge = await startTestEdge({ libsqlUrl: db.url, libsqlAuthToken: db.authToken });
    const key = (await createMagicKey(db.db, { label: 'bench', ttlMs: 3_600_000 })).key;
    const r = relay;
    const e = edge;

    const closePeer = async (peerId: string) => {
      const token = await relayToken(r, { op: 'close', peer_id: peerId });
      await fetch(`${r.url}/internal/peers/${peerId}`, { method: 'DELETE', headers: { authorization: `Bearer ${token}` } });
    };
    const viaEdge = async (sdp: string) => {
      const t0 = performance.now();
      const resp = await e.post('/api/signaling/start', { sdp, type: 'offer', magic_key: key });
      const answer = SignalingStartResponseSchema.parse(await resp.json());
      const ms = performance.now() - t0;
      await closePeer(String(peekClaims(answer.session_id).peer_id));
      return ms;
    };
    const direct = async (sdp: string) => {
      const t0 = performance.now();
      const peerId = uuid();
      const token = await relayToken(r, { op: 'create', peer_id: peerId, key_id: await testKeyId(key) });
      const resp = await fetch(`${r.url}/internal/peers`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ sdp, type: 'offer' }),
      });
      RelayCreatePeerResponseSchema.parse(await resp.json());
      const ms = performance.now() - t0;
      await closePeer(peerId);
      return ms;
    };

    const edgeMs: number[] = [];
    const directMs: number[] = [];
    for (let i = 0; i < WARMUP + OFFERS; i++) {
      const sdp = await makeOffer();
      // Alternate which goes first so neither always meets a warmer relay.
      let viaEdgeMs: number;
      let straightMs: number;
      if (i % 2 === 0) {
        viaEdgeMs = await viaEdge(sdp);
        straightMs = await direct(sdp);
      } else {
        straightMs = await direct(sdp);
        viaEdgeMs = await viaEdge(sdp);
      }
      if (i >= WARMUP) {
        edgeMs.push(viaEdgeMs);
        directMs.push(straightMs);
      }
    }
    await eventually(async () => r.activePeers() === 0);

    const setupMs: number[] = [];
    const signal = edgeSignal(e.url, key);
    for (let i = 0; i < SETUPS; i++) {
      const t0 = performance.now();
      const conn = await openConnection({
        RTCPeerConnection: RTCPeerConnection as unknown as typeof globalThis.RTCPeerConnection,
        signal,
        connId: uuid(),
        iceTimeoutMs: 10_000,
      });
      setupMs.push(performance.now() - t0);
      conn.close();
      await eventually(async () => r.activePeers() === 0);
    }

    const p = (values: number[], q: number) => nearestRank([...values].sort((x, y) => x - y), q);
    return {
      'offers (each way, after warm-up)': OFFERS,
      'offer→answer via edge p50 (ms)': p(edgeMs, 50),
      'offer→answer via edge p95 (ms)': p(edgeMs, 95),
      'offer→answer direct to relay p50 (ms)': p(directMs, 50),
      'offer→answer direct to relay p95 (ms)': p(directMs, 95),
      'edge / direct ratio p50': p(edgeMs, 50) / p(directMs, 50),
      'edge / direct ratio p95': p(edgeMs, 95) / p(directMs, 95),
      'edge overhead p50 (ms)': p(edgeMs, 50) - p(directMs, 50),
      'set-ups via edge (offer → 3 channels open)': SETUPS,
      'set-up via edge p50 (ms)': p(setupMs, 50),
      'set-up via edge p95 (ms)': p(setupMs, 95),
    };
  } finally {
    await relay?.close();
    await edge?.close();
    await db.close();
  }
}
