import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RTCPeerConnection } from 'node-datachannel/polyfill';
import { signToken } from '../../shared/signing.js';
import type { RelayHandle } from '../../relay/relay.js';
import { relayToken, startTestDb, startTestRelay, TEST_SECRETS, type TestDb } from '../helpers/system.js';

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
    const good = { op: 'create' as const, peer_id: 'p-1', magic_key: 'k' };
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
    const token = await relayToken(relay, { op: 'create', peer_id: 'p-3', magic_key: 'k' });
    await expectRefused(await post('/internal/peers', token, '{not json'), 400, 'invalid_request');
    const noSdp = await post('/internal/peers', token, { type: 'offer' });
    expect(noSdp.status).toBe(400);
    expect(((await noSdp.json()) as { error: { message: string } }).error.message).toMatch(/^sdp/);
    await expectRefused(await post('/internal/peers', token, { sdp: 'v=0\r\nnonsense', type: 'offer' }), 400, 'invalid_request');
    await expectRefused(await post('/internal/peers', token, { sdp: 'x'.repeat(70_000), type: 'offer' }), 413, 'too_large');
    expect(relay.activePeers()).toBe(0);
    expect(await peerRows()).toBe(0);
  });

  it('creates a peer with a valid token, answers with candidates, then closes it', async () => {
    const token = await relayToken(relay, { op: 'create', peer_id: 'p-4', magic_key: 'k' });
    const resp = await post('/internal/peers', token, offer());
    expect(resp.status).toBe(200);
    const answer = (await resp.json()) as { peer_id: string; conn_id: string; sdp: string; type: string };
    expect(answer.type).toBe('answer');
    expect(answer.peer_id).toBe('p-4');
    expect(answer.conn_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(answer.sdp).toMatch(/a=candidate:.* 127\.0\.0\.1 \d+ typ host/);
    expect(relay.activePeers()).toBe(1);
    const again = await post('/internal/peers', token, offer());
    expect(again.status).toBe(409);
    const unknownIce = await post('/internal/peers/p-9/ice', await relayToken(relay, { op: 'ice', peer_id: 'p-9' }), { candidate: 'candidate:1 1 UDP 1 127.0.0.1 9 typ host' });
    await expectRefused(unknownIce, 404, 'not_found');
    const del = await fetch(`${relay.url}/internal/peers/p-4`, { method: 'DELETE', headers: { authorization: `Bearer ${await relayToken(relay, { op: 'close', peer_id: 'p-4' })}` } });
    expect(del.status).toBe(204);
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
