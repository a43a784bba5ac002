// Whole surveys through the edge in workerd: the headless client signals via /api/signaling/*, connects
// to a real relay, measures, and the database holds the session under the edge-validated key.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runProbe } from '../../cli/run-probe.js';
import type { Signal } from '../../client/signaling.js';
import { createMagicKey } from '../../shared/db/keys.js';
import { SignalingStartResponseSchema } from '../../shared/protocol/signaling.js';
import type { RelayHandle } from '../../relay/relay.js';
import { eventually, metricRows, startTestDb, startTestRelay, type TestDb } from '../helpers/system.js';
import { makeOffer, startTestEdge, type TestEdge } from '../helpers/edge.js';

let db: TestDb;
let relay: RelayHandle;
let edge: TestEdge;
let key: string;

beforeAll(async () => {
  db = await startTestDb();
  relay = await startTestRelay(db);
  edge = await startTestEdge({ libsqlUrl: db.url, libsqlAuthToken: db.authToken });
  key = (await createMagicKey(db.db, { label: 'edge survey', ttlMs: 3_600_000 })).key;
});

afterAll(async () => {
  await relay?.close();
  await edge?.close();
  await db?.close();
});

/** Checks the recorded session: under `key`, with per-second rows from both sources for the connection. */
async function expectRecorded(surveyId: string, connId: string, minSeconds: number): Promise<void> {
  const rs = await db.db.execute({ sql: 'SELECT * FROM survey_sessions WHERE session_id = ?', args: [surveyId] });
  expect(rs.rows).toHaveLength(1);
  expect(rs.rows[0]).toMatchObject({ magic_key: key, user_login: null });
  const rows = await eventually(async () => {
    const all = await metricRows(db.db, surveyId);
    const server = all.filter((r) => r.source === 'server' && r.direction === 'c2s');
    const client = all.filter((r) => r.source === 'client' && r.direction === 's2c');
    return server.length >= minSeconds && client.length >= minSeconds ? { server, client } : null;
  });
  for (const r of [...rows.server, ...rows.client]) expect(r.conn_id).toBe(connId);
  // Probes flowed both ways at 100/s: full seconds carry close to 100 each.
  expect(Math.max(...rows.server.map((r) => Number(r.probe_count)))).toBeGreaterThanOrEqual(80);
  expect(Math.max(...rows.client.map((r) => Number(r.probe_count)))).toBeGreaterThanOrEqual(80);
  expect(rows.server.some((r) => Number(r.rtt_p50_ms) > 0)).toBe(true);
}

async function expectNothingOpen(): Promise<void> {
  await eventually(async () => relay.activePeers() === 0);
  await eventually(async () => Number((await db.db.execute('SELECT COUNT(*) AS n FROM relay_peers WHERE closed_at IS NULL')).rows[0]?.n) === 0);
}

describe('surveys through the edge', () => {
  it('the headless client completes a 5 s survey; a client that trickles no candidate works', async () => {
    const result = await runProbe({ url: edge.url, key, durationMs: 5_000 });
    expect(result.stoppedBy).toBe('duration');
    expect(result.seconds.length).toBeGreaterThanOrEqual(4);
    await expectRecorded(result.surveySessionId, result.connIds[0]!, 4);
    await expectNothingOpen();
  });

  it('trickles candidates through /api/signaling/ice (offer sent without them)', async () => {
    const iceStatuses: number[] = [];
    // Like a trickling browser: the offer goes out without candidates; each one follows via /ice.
    const trickle: Signal = async (offer) => {
      const lines = offer.sdp.split(/\r?\n/);
      const candidates = lines.filter((l) => l.startsWith('a=candidate:')).map((l) => l.slice(2));
      const mid = lines.find((l) => l.startsWith('a=mid:'))?.slice(6);
      const bare = lines.filter((l) => !l.startsWith('a=candidate:') && l !== 'a=end-of-candidates').join('\r\n');
      const resp = await edge.post('/api/signaling/start', { ...offer, sdp: bare }, { authorization: `MagicKey ${key}` });
      expect(resp.status).toBe(200);
      const answer = SignalingStartResponseSchema.parse(await resp.json());
      expect(answer.conn_id).toBe(offer.conn_id);
      expect(answer.ice_servers).toEqual([]);
      expect(candidates.length).toBeGreaterThan(0);
      for (const candidate of [...candidates, '']) {
        const r = await edge.post('/api/signaling/ice', { session_id: answer.session_id, candidate, sdp_mid: mid });
        iceStatuses.push(r.status);
      }
      return answer;
    };
    const result = await runProbe({ url: edge.url, key: 'unused: the signal above carries the key', durationMs: 3_000, signal: trickle });
    expect(iceStatuses.length).toBeGreaterThan(1);
    expect(new Set(iceStatuses)).toEqual(new Set([204]));
    expect(result.stoppedBy).toBe('duration');
    await expectRecorded(result.surveySessionId, result.connIds[0]!, 2);
    await expectNothingOpen();
  });

  it('answers 409 conflict to a signaling that names a live conn_id, and the live survey goes on', async () => {
    let liveConnId = '';
    let finished: Awaited<ReturnType<typeof runProbe>> | null = null;
    const probing = new Promise<void>((resolve) => {
      void runProbe({
        url: edge.url,
        key,
        durationMs: 4_000,
        onEvent: (e) => {
          if (e.type === 'stats' && !liveConnId) {
            liveConnId = e.conn_id;
            resolve();
          }
        },
      }).then((r) => (finished = r));
    });
    await probing;
    const resp = await edge.post('/api/signaling/start', { sdp: await makeOffer(), type: 'offer', magic_key: key, conn_id: liveConnId });
    expect(resp.status).toBe(409);
    expect(((await resp.json()) as { error: { code: string } }).error.code).toBe('conflict');
    await eventually(async () => finished !== null, 15_000);
    expect(finished!.stoppedBy).toBe('duration');
    await expectRecorded(finished!.surveySessionId, liveConnId, 2);
    await expectNothingOpen();
  });
});
