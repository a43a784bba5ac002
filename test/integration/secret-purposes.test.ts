// One configured secret, one key per purpose (issue 18, item 3), with real parts: a relay, the edge in workerd,
// libSQL. Whoever holds the metrics credential — or the configured secret itself, as a sniffed scrape gave
// before — can mint nothing the relay or the edge takes; a second secret verifies during a rotation.
import { createHash } from 'node:crypto';
import { RTCPeerConnection } from 'node-datachannel/polyfill';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signCaptureToken } from '../../shared/capture-token.js';
import { insertSurveySession } from '../../shared/db/surveys.js';
import { uuid } from '../../shared/ids.js';
import { signToken } from '../../shared/signing.js';
import type { RelayHandle } from '../../relay/relay.js';
import { startTestEdge, type TestEdge } from '../helpers/edge.js';
import { signWithRawSecret } from '../helpers/raw-sign.js';
import { relayToken, testKeyId, startTestDb, startTestRelay, TEST_SECRET, TEST_SECRETS, type TestDb } from '../helpers/system.js';

const METRICS_TOKEN = 'test-metrics-token-fedcba9876543210';
const NEXT_SECRET = 'the-next-shared-secret-0123456789';

let db: TestDb;
let relay: RelayHandle;
let edge: TestEdge;
let offerSdp: string;

beforeAll(async () => {
  db = await startTestDb();
  relay = await startTestRelay(db, { metricsToken: METRICS_TOKEN });
  edge = await startTestEdge({ libsqlUrl: db.url, libsqlAuthToken: db.authToken });
  const pc = new RTCPeerConnection();
  pc.createDataChannel('control');
  await pc.setLocalDescription(await pc.createOffer());
  offerSdp = pc.localDescription!.sdp;
  pc.close();
}, 60_000);

afterAll(async () => {
  await relay?.close();
  await edge?.close();
  await db?.close();
});

const createPeer = (token: string) =>
  fetch(`${relay.url}/internal/peers`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ sdp: offerSdp, type: 'offer' }),
  });

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** PUT a capture to `edgeUrl` under `token`; the survey must exist. */
const putCapture = (edgeUrl: string, survey: string, token: string, body: Uint8Array) =>
  fetch(`${edgeUrl}/internal/captures/${survey}/c1/p1`, { method: 'PUT', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' }, body: body as Uint8Array<ArrayBuffer> });

async function newSurvey(): Promise<string> {
  const id = uuid();
  await db.db.execute(insertSurveySession({ session_id: id, magic_key: 'k', user_login: null, now: Date.now() }));
  return id;
}

const storedRows = async (survey: string) => Number((await db.db.execute({ sql: 'SELECT count(*) AS n FROM survey_captures WHERE session_id = ?', args: [survey] })).rows[0]!.n);

describe('per-purpose keys', () => {
  it('/metrics takes METRICS_TOKEN; the configured secret as the bearer is refused', async () => {
    const withSecret = await fetch(`${relay.url}/metrics`, { headers: { authorization: `Bearer ${TEST_SECRET}` } });
    expect(withSecret.status).toBe(401);
    expect(((await withSecret.json()) as { error: { code: string } }).error.code).toBe('auth_required');
    const withToken = await fetch(`${relay.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    expect(withToken.status).toBe(200);
    expect(await withToken.text()).toMatch(/netpoke_relay_sessions/);
  });

  it('a create-peer token minted from the metrics credential or the configured secret itself is refused: 401, no peer', async () => {
    const claims = { typ: 'relay', aud: relay.relayId, op: 'create', peer_id: uuid(), key_id: await testKeyId('any-key-at-all'), jti: uuid(), user_login: 'admin', exp: Date.now() + 30_000 };
    for (const credential of [METRICS_TOKEN, TEST_SECRET]) {
      const resp = await createPeer(await signWithRawSecret(claims, credential));
      expect(resp.status).toBe(401);
      expect(((await resp.json()) as { error: { code: string } }).error.code).toBe('auth_required');
    }
    // Nor does a token signed with another purpose's key (a capture token's, a handle's).
    for (const purpose of ['capture', 'handle', 'local'] as const) expect((await createPeer(await signToken(claims, TEST_SECRETS, purpose))).status).toBe(401);
    expect(relay.activePeers()).toBe(0);
    // The edge's own kind of token does pass (the refusals above are about the key, not the request).
    const genuine = await createPeer(await relayToken(relay, { op: 'create', peer_id: uuid(), key_id: await testKeyId('k') }));
    expect(genuine.status).toBe(200);
    await genuine.body?.cancel();
  });

  it('a capture token minted from the metrics credential or the configured secret itself is refused: 403, nothing stored', async () => {
    const survey = await newSurvey();
    const body = new Uint8Array(Buffer.from('not a capture the relay made'));
    const claims = { typ: 'capture', relay_id: relay.relayId, session_id: survey, conn_id: 'c1', peer_id: 'p1', sha256: sha(body), bytes: body.length, exp: Date.now() + 60_000 };
    for (const token of [
      await signWithRawSecret(claims, METRICS_TOKEN),
      await signWithRawSecret(claims, TEST_SECRET),
      await signToken(claims, TEST_SECRETS, 'relay'),
      await signToken(claims, TEST_SECRETS, 'handle'),
    ]) {
      const resp = await putCapture(edge.url, survey, token, body);
      expect(resp.status).toBe(403);
      expect(((await resp.json()) as { error: { code: string } }).error.code).toBe('forbidden');
    }
    expect(await storedRows(survey)).toBe(0);
    expect((await (await edge.mf.getR2Bucket('RECORDINGS')).list({ prefix: `captures/${survey}/` })).objects).toEqual([]);
  });

  it('rotation: mid-way (edge on the old secret with the next as second, relay on the next with the old as second) both directions verify', async () => {
    const rotating = await startTestRelay(db, { secrets: { current: NEXT_SECRET, previous: TEST_SECRET } });
    const rotatingEdge = await startTestEdge({ libsqlUrl: db.url, libsqlAuthToken: db.authToken, vars: { RELAY_SHARED_SECRET_PREVIOUS: NEXT_SECRET } });
    try {
      // Edge → relay: a token of the old secret still opens the relay that signs with the next one.
      const load = await fetch(`${rotating.url}/internal/load`, { headers: { authorization: `Bearer ${await relayToken(rotating, { op: 'load' })}` } });
      expect(load.status).toBe(200);
      // Relay → edge: a capture token of the next secret is taken by the edge still signing with the old one.
      const survey = await newSurvey();
      const body = new Uint8Array(Buffer.from('a capture during rotation'));
      const token = await signCaptureToken({ relay_id: rotating.relayId, session_id: survey, conn_id: 'c1', peer_id: 'p1', sha256: sha(body), bytes: body.length }, { current: NEXT_SECRET });
      expect((await putCapture(rotatingEdge.url, survey, token, body)).status).toBe(200);
      // Once the old secret is retired (the edge without a second one), the next secret's token is not taken there.
      const other = await newSurvey();
      const late = await signCaptureToken({ relay_id: rotating.relayId, session_id: other, conn_id: 'c1', peer_id: 'p1', sha256: sha(body), bytes: body.length }, { current: NEXT_SECRET });
      expect((await putCapture(edge.url, other, late, body)).status).toBe(403);
    } finally {
      await rotating.close();
      await rotatingEdge.close();
    }
  }, 60_000);
});
