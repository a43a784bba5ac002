import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RTCPeerConnection } from 'node-datachannel/polyfill';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createPeer } from '../../edge/relay-client.js';
import { uuid } from '../../shared/ids.js';
import { RelayTokenClaimsSchema } from '../../shared/protocol/relay-api.js';
import { signToken, verifyToken } from '../../shared/signing.js';
import type { RelayHandle } from '../../relay/relay.js';
import { relayToken, testKeyId, startTestDb, startTestRelay, TEST_SECRETS, type TestDb } from '../helpers/system.js';

let db: TestDb;
let relay: RelayHandle;
let offerSdp: string;

beforeAll(async () => {
  db = await startTestDb();
  relay = await startTestRelay(db);
  const pc = new RTCPeerConnection();
  pc.createDataChannel('control');
  await pc.setLocalDescription(await pc.createOffer());
  offerSdp = pc.localDescription!.sdp;
  pc.close();
});
afterAll(async () => {
  await relay?.close();
  await db?.close();
});

const post = (path: string, token: string | null, body: unknown) =>
  fetch(`${relay.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

async function expectRefused(resp: Response, status: number, code: string) {
  expect(resp.status).toBe(status);
  const body = (await resp.json()) as { error: { code: string; message: string } };
  expect(body.error.code).toBe(code);
  expect(body.error.message.length).toBeGreaterThan(0);
}

async function peerRows(): Promise<number> {
  const rs = await db.db.execute({ sql: 'SELECT COUNT(*) AS n FROM relay_peers WHERE relay_id = ?', args: [relay.relayId] });
  return Number(rs.rows[0]!.n);
}

describe('relay internal API refuses calls that did not come from the edge', () => {
  const offer = () => ({ sdp: offerSdp, type: 'offer' });

  it('no token, bad signature, expired, wrong relay, wrong op: 401 and no peer', async () => {
    const good = { op: 'create' as const, peer_id: 'p-1', key_id: await testKeyId('k'), jti: uuid() };
    const cases: [string | null, string][] = [
      [null, 'no token'],
      [await relayToken(relay, good, { current: 'another-secret-0123456789abcdef' }), 'bad signature'],
      [await signToken({ typ: 'relay', aud: relay.relayId, exp: Date.now() - 1, ...good }, TEST_SECRETS, 'relay'), 'expired'],
      [await signToken({ typ: 'relay', aud: 'some-other-relay', exp: Date.now() + 30_000, ...good }, TEST_SECRETS, 'relay'), 'other relay'],
      [await relayToken(relay, { ...good, op: 'ice' }), 'wrong op'],
      ['garbage.token', 'malformed'],
    ];
    for (const [token] of cases) await expectRefused(await post('/internal/peers', token, offer()), 401, 'auth_required');
    expect(relay.activePeers()).toBe(0);
    expect(await peerRows()).toBe(0);
  });

  it('a token for one peer cannot touch another', async () => {
    const token = await relayToken(relay, { op: 'ice', peer_id: 'p-1' });
    await expectRefused(await post('/internal/peers/p-2/ice', token, { candidate: 'x' }), 401, 'auth_required');
    const del = await fetch(`${relay.url}/internal/peers/p-2`, { method: 'DELETE', headers: { authorization: `Bearer ${await relayToken(relay, { op: 'close', peer_id: 'p-1' })}` } });
    expect(del.status).toBe(401);
  });

  it('bad bodies get 400 naming the field, and nothing is created', async () => {
    const keyId = await testKeyId('k');
    const token = () => relayToken(relay, { op: 'create', peer_id: 'p-3', key_id: keyId });
    await expectRefused(await post('/internal/peers', await token(), '{not json'), 400, 'invalid_request');
    const noSdp = await post('/internal/peers', await token(), { type: 'offer' });
    expect(noSdp.status).toBe(400);
    expect(((await noSdp.json()) as { error: { message: string } }).error.message).toMatch(/^sdp/);
    await expectRefused(await post('/internal/peers', await token(), { sdp: 'v=0\r\nnonsense', type: 'offer' }), 400, 'invalid_request');
    await expectRefused(await post('/internal/peers', await token(), { sdp: 'x'.repeat(70_000), type: 'offer' }), 413, 'too_large');
    expect(relay.activePeers()).toBe(0);
    expect(await peerRows()).toBe(0);
  });

  it('creates a peer with a valid token, answers with candidates, then closes it', async () => {
    const token = await relayToken(relay, { op: 'create', peer_id: 'p-4', key_id: await testKeyId('k') });
    const resp = await post('/internal/peers', token, offer());
    expect(resp.status).toBe(200);
    const answer = (await resp.json()) as { peer_id: string; conn_id: string; sdp: string; type: string };
    expect(answer.type).toBe('answer');
    expect(answer.peer_id).toBe('p-4');
    expect(answer.conn_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(answer.sdp).toMatch(/a=candidate:.* 127\.0\.0\.1 \d+ typ host/);
    expect(relay.activePeers()).toBe(1);
    const again = await post('/internal/peers', await relayToken(relay, { op: 'create', peer_id: 'p-4', key_id: await testKeyId('k') }), offer());
    expect(again.status).toBe(409);
    const unknownIce = await post('/internal/peers/p-9/ice', await relayToken(relay, { op: 'ice', peer_id: 'p-9' }), { candidate: 'candidate:1 1 UDP 1 127.0.0.1 9 typ host' });
    await expectRefused(unknownIce, 404, 'not_found');
    const del = await fetch(`${relay.url}/internal/peers/p-4`, { method: 'DELETE', headers: { authorization: `Bearer ${await relayToken(relay, { op: 'close', peer_id: 'p-4' })}` } });
    expect(del.status).toBe(204);
    expect(relay.activePeers()).toBe(0);
  });

  it("the edge's create-peer token names the key by key_id, never carries it, and is good for one call: a replay is refused (401, in words) and creates no peer", async () => {
    const magicKey = 'np_the-key-itself-0123456789';
    const keyId = await testKeyId(magicKey);
    // Stands where the relay would, to read the token the edge's relay client sends.
    const seen: string[] = [];
    const recorder = createServer((req, res) => {
      seen.push(req.headers.authorization ?? '');
      res.writeHead(503, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: 'no_relay', message: 'recorder' } }));
    });
    await new Promise<void>((r) => recorder.listen(0, '127.0.0.1', () => r()));
    const target = { id: relay.relayId, url: `http://127.0.0.1:${(recorder.address() as AddressInfo).port}` };
    await createPeer(target, TEST_SECRETS, { peerId: 'p-replay', keyId, userLogin: null, maxMeasuringMs: null }, { sdp: offerSdp, type: 'offer' }, 2_000);
    await new Promise<void>((r) => recorder.close(() => r()));
    const token = seen[0]!.slice('Bearer '.length);
    const decoded = JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString()) as Record<string, unknown>;
    expect(decoded).toMatchObject({ op: 'create', peer_id: 'p-replay', key_id: keyId });
    expect(decoded).not.toHaveProperty('magic_key');
    expect(String(decoded.jti)).toMatch(/^[0-9a-f-]{36}$/);
    expect(Buffer.from(token.split('.')[0]!, 'base64url').toString()).not.toContain(magicKey);
    expect((await verifyToken(token, TEST_SECRETS, 'relay', RelayTokenClaimsSchema)).ok).toBe(true);

    // The same token, sent to the relay: the first use creates the peer (with the key read by key_id), a replay nothing.
    const first = await post('/internal/peers', token, offer());
    expect(first.status).toBe(200);
    await first.body?.cancel();
    const row = await db.db.execute({ sql: 'SELECT magic_key FROM relay_peers WHERE peer_id = ?', args: ['p-replay'] });
    expect(row.rows[0]?.magic_key).toBe(magicKey);
    const close = await fetch(`${relay.url}/internal/peers/p-replay`, { method: 'DELETE', headers: { authorization: `Bearer ${await relayToken(relay, { op: 'close', peer_id: 'p-replay' })}` } });
    expect(close.status).toBe(204);
    expect(relay.activePeers()).toBe(0);
    const replay = await post('/internal/peers', token, offer());
    expect(replay.status).toBe(401);
    const refusal = (await replay.json()) as { error: { code: string; message: string } };
    expect(refusal.error).toMatchObject({ code: 'auth_required' });
    expect(refusal.error.message).toMatch(/already used/);
    expect(relay.activePeers()).toBe(0);
  });

  it('a create token naming a key the database does not hold is refused in words (403 key_invalid), no peer', async () => {
    const resp = await post('/internal/peers', await relayToken(relay, { op: 'create', peer_id: 'p-nokey', key_id: '0123456789abcdef' }), offer());
    await expectRefused(resp, 403, 'key_invalid');
    expect(relay.activePeers()).toBe(0);
  });

  it('reports its load', async () => {
    const resp = await fetch(`${relay.url}/internal/load`, { headers: { authorization: `Bearer ${await relayToken(relay, { op: 'load' })}` } });
    expect(await resp.json()).toEqual({ relay_id: relay.relayId, region: 'local', active_sessions: 0, capacity: 500, timer_slip_p99_ms: 0 });
    expect((await fetch(`${relay.url}/internal/load`)).status).toBe(401);
    expect(await (await fetch(`${relay.url}/health`)).json()).toEqual({ ok: true });
  });

  it('registers itself in the relays table with a fresh heartbeat', async () => {
    const rs = await db.db.execute({ sql: 'SELECT * FROM relays WHERE id = ?', args: [relay.relayId] });
    const row = rs.rows[0]!;
    expect(row.internal_url).toBe(relay.url);
    expect(Number(row.capacity)).toBe(500);
    expect(Date.now() - Number(row.last_heartbeat)).toBeLessThan(5_000);
  });
});
