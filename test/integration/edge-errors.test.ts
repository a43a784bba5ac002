// Every way /api/signaling/* refuses, with the edge in workerd, a real libSQL database and a real relay:
// the right status and code, and nothing left behind (no survey row, no open relay_peers row, no relay peer).
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createMagicKey, keyIdOf, revokeMagicKey } from '../../shared/db/keys.js';
import { upsertRelay, type RelayRecord } from '../../shared/db/relays.js';
import { SignalingStartResponseSchema } from '../../shared/protocol/signaling.js';
import { sha256Hex, signToken } from '../../shared/signing.js';
import { toBase64Url } from '../../shared/ids.js';
import { HANDLE_TTL_MS, issueHandle } from '../../edge/session-handle.js';
import type { RelayHandle } from '../../relay/relay.js';
import { eventually, relayToken, startTestDb, startTestRelay, TEST_SECRET, TEST_SECRETS, type TestDb } from '../helpers/system.js';
import { signWithRawSecret } from '../helpers/raw-sign.js';
import { makeOffer, peekClaims, startFakeRelay, startTestEdge, type FakeRelay, type TestEdge } from '../helpers/edge.js';

const FAILURE_LIMIT = 5;

let db: TestDb;
let edge: TestEdge;
let relay: RelayHandle | null = null;
let offer: string;
const keys = { valid: '', expired: '', revoked: '', single: '' };
let addressSeq = 0;
/** A fresh client address per request group, so the failed-key counter of one test never spills into another. */
const freshAddress = () => `198.51.100.${++addressSeq}`;

async function expectError(resp: Response, status: number, code: string, mentions?: string): Promise<string> {
  const body = (await resp.json()) as { error?: { code?: string; message?: string } };
  expect({ status: resp.status, code: body.error?.code }).toEqual({ status, code });
  expect(typeof body.error?.message).toBe('string');
  expect(body.error?.message).not.toMatch(/\n\s+at /); // never a stack trace
  if (mentions) expect(body.error?.message).toContain(mentions);
  return body.error?.message ?? '';
}

const start = (body: Record<string, unknown>, headers: Record<string, string> = {}) =>
  edge.post('/api/signaling/start', { sdp: offer, type: 'offer', ...body }, { 'cf-connecting-ip': freshAddress(), ...headers });

async function count(sql: string): Promise<number> {
  const rs = await db.db.execute(sql);
  return Number(rs.rows[0]?.n);
}

function relayRow(id: string, url: string, extra: Partial<RelayRecord> = {}): RelayRecord {
  const now = Date.now();
  return { id, region: 'local', public_address: '127.0.0.1:9', internal_url: url, capacity: 10, active_sessions: 0, last_heartbeat: now, started_at: now, ...extra };
}

async function dropRelays(ids: string[]): Promise<void> {
  await db.db.execute({ sql: `DELETE FROM relays WHERE id IN (${ids.map(() => '?').join(',')})`, args: ids });
}

beforeAll(async () => {
  db = await startTestDb();
  edge = await startTestEdge({ libsqlUrl: db.url, libsqlAuthToken: db.authToken, vars: { KEY_FAILURE_LIMIT: String(FAILURE_LIMIT), RELAY_TIMEOUT_MS: '3000', TRUST_CLIENT_ADDRESS_HEADER: 'true' } });
  offer = await makeOffer();
  keys.valid = (await createMagicKey(db.db, { label: 'valid', ttlMs: 3_600_000 })).key;
  keys.expired = (await createMagicKey(db.db, { label: 'expired', ttlMs: 1_000 }, Date.now() - 60_000)).key;
  keys.revoked = (await createMagicKey(db.db, { label: 'revoked', ttlMs: 3_600_000 })).key;
  await revokeMagicKey(db.db, keys.revoked);
  keys.single = (await createMagicKey(db.db, { label: 'one at a time', ttlMs: 3_600_000, maxConcurrentSessions: 1 })).key;
});

afterAll(async () => {
  await relay?.close();
  await edge?.close();
  await db?.close();
});

afterEach(async () => {
  expect(await count('SELECT COUNT(*) AS n FROM survey_sessions')).toBe(0);
  // The relay records its peers asynchronously; wait for any close to land before judging.
  await eventually(async () => (await count('SELECT COUNT(*) AS n FROM relay_peers WHERE closed_at IS NULL')) === 0, 5_000);
  expect(relay?.activePeers() ?? 0).toBe(0);
});

describe('basics', () => {
  it('GET /health answers {ok: true}; GET / serves a page that keeps ?key=', async () => {
    const health = await fetch(`${edge.url}/health`);
    expect({ status: health.status, body: await health.json() }).toEqual({ status: 200, body: { ok: true } });
    const page = await fetch(`${edge.url}/?key=${keys.valid}`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    const html = await page.text();
    // The built page reads ?key= itself; the placeholder (no page built yet) echoes it into its form.
    if (html.includes('not built yet')) expect(html).toContain(`value="${keys.valid}"`);
  });

  it('a misconfigured edge names the bad variables, never their values', async () => {
    const bad = await startTestEdge({ libsqlUrl: 'ftp://nope', secret: 'short-secret', vars: { REGION_MAP: '{not json', NETPOKE_MODE: 'staging' } });
    try {
      const message = await expectError(await fetch(`${bad.url}/health`), 500, 'internal_error');
      for (const name of ['LIBSQL_URL', 'RELAY_SHARED_SECRET', 'REGION_MAP', 'NETPOKE_MODE']) expect(message).toContain(name);
      expect(message).not.toContain('short-secret');
      await expectError(await bad.post('/api/signaling/start', { sdp: offer, type: 'offer', magic_key: keys.valid }), 500, 'internal_error', 'RELAY_SHARED_SECRET');
    } finally {
      await bad.close();
    }
  });
});

describe('bad input: 400 invalid_request naming the field', () => {
  it('malformed JSON', async () => {
    await expectError(await edge.post('/api/signaling/start', '{"sdp": "v=0", '), 400, 'invalid_request', 'JSON');
    await expectError(await edge.post('/api/signaling/ice', 'not json at all'), 400, 'invalid_request', 'JSON');
    await expectError(await edge.post('/api/signaling/start', ''), 400, 'invalid_request');
  });

  it('missing or wrongly typed fields', async () => {
    await expectError(await edge.post('/api/signaling/start', { type: 'offer', magic_key: keys.valid }), 400, 'invalid_request', 'sdp');
    await expectError(await edge.post('/api/signaling/start', { sdp: 42, type: 'offer', magic_key: keys.valid }), 400, 'invalid_request', 'sdp');
    await expectError(await edge.post('/api/signaling/start', { sdp: offer, type: 'answer', magic_key: keys.valid }), 400, 'invalid_request', 'type');
    await expectError(await edge.post('/api/signaling/start', { sdp: offer, type: 'offer', magic_key: 7 }), 400, 'invalid_request', 'magic_key');
    await expectError(await edge.post('/api/signaling/start', { sdp: offer, type: 'offer', conn_id: 'nope', magic_key: keys.valid }), 400, 'invalid_request', 'conn_id');
    await expectError(await edge.post('/api/signaling/start', { sdp: offer, type: 'offer', ip_version: 'ipv5', magic_key: keys.valid }), 400, 'invalid_request', 'ip_version');
    await expectError(await edge.post('/api/signaling/start', { sdp: offer, type: 'offer', retry_of: 7, magic_key: keys.valid }), 400, 'invalid_request', 'retry_of');
    // retry_of names a failed attempt by its session handle: one this edge did not sign counts against no relay.
    await expectError(await edge.post('/api/signaling/start', { sdp: offer, type: 'offer', retry_of: 'not-a-handle.x', magic_key: keys.valid }), 403, 'forbidden', 'session_id');
    await expectError(await edge.post('/api/signaling/start', [1, 2]), 400, 'invalid_request');
    await expectError(await edge.post('/api/signaling/ice', { candidate: 'candidate:1 1 UDP 1 127.0.0.1 9 typ host' }), 400, 'invalid_request', 'session_id');
    await expectError(await edge.post('/api/signaling/ice', { session_id: 'x', candidate: 5 }), 400, 'invalid_request', 'candidate');
  });

  it('an oversized body: 413 too_large, declared or streamed', async () => {
    const big = JSON.stringify({ sdp: 'a'.repeat(70 * 1024), type: 'offer', magic_key: keys.valid });
    await expectError(await edge.post('/api/signaling/start', big), 413, 'too_large');
    // No content-length: the edge must stop reading as soon as the limit is passed.
    const chunks = new ReadableStream<Uint8Array>({
      start(ctl) {
        for (let i = 0; i < 20; i++) ctl.enqueue(new TextEncoder().encode('x'.repeat(8 * 1024)));
        ctl.close();
      },
    });
    const resp = await fetch(`${edge.url}/api/signaling/start`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: chunks, duplex: 'half' } as RequestInit);
    await expectError(resp, 413, 'too_large');
    await expectError(await edge.post('/api/signaling/ice', { session_id: 'x'.repeat(80 * 1024), candidate: '' }), 413, 'too_large');
  });

  it('unknown routes: 404 not_found in the same shape', async () => {
    await expectError(await edge.post('/api/nope', {}), 404, 'not_found');
    await expectError(await fetch(`${edge.url}/api/signaling/start`), 404, 'not_found');
  });
});

describe('magic keys', () => {
  it('no key at all: 401 auth_required', async () => {
    await expectError(await start({}), 401, 'auth_required', 'magic_key');
  });

  it('unknown, expired and revoked keys: 403 with their own codes', async () => {
    await expectError(await start({ magic_key: 'np_not-a-key-anyone-made' }), 403, 'key_invalid');
    await expectError(await start({ magic_key: keys.expired }), 403, 'key_expired');
    await expectError(await start({ magic_key: keys.revoked }), 403, 'key_revoked');
    await expectError(await start({}, { authorization: 'MagicKey np_unknown' }), 403, 'key_invalid');
  });

  it('takes the key from Authorization: MagicKey, and the body field wins over it', async () => {
    // With no relay registered, a key that passes gets as far as relay choice: 503.
    await expectError(await start({}, { authorization: `MagicKey ${keys.valid}` }), 503, 'no_relay');
    await expectError(await start({ magic_key: keys.valid }, { authorization: 'MagicKey np_unknown' }), 503, 'no_relay');
    await expectError(await start({ magic_key: 'np_unknown' }, { authorization: `MagicKey ${keys.valid}` }), 403, 'key_invalid');
  });

  it('failed attempts are rate-limited per client address: bad keys get 429 after the limit, a valid key still passes', async () => {
    const address = '203.0.113.7';
    for (let i = 0; i < FAILURE_LIMIT; i++) {
      await expectError(await start({ magic_key: `np_guess-${i}` }, { 'cf-connecting-ip': address }), 403, 'key_invalid');
    }
    await expectError(await start({ magic_key: 'np_guess-again' }, { 'cf-connecting-ip': address }), 429, 'rate_limited');
    await expectError(await start({ magic_key: keys.expired }, { 'cf-connecting-ip': address }), 429, 'rate_limited');
    // PROTOCOL.md §1: a valid key is never refused for its address's failures (no relay here, so it gets as far as relay choice).
    await expectError(await start({ magic_key: keys.valid }, { 'cf-connecting-ip': address }), 503, 'no_relay');
    await expectError(await start({}, { 'cf-connecting-ip': address, authorization: `MagicKey ${keys.valid}` }), 503, 'no_relay');
    // Refused keys from a locked address still count.
    const rs = await db.db.execute({ sql: 'SELECT count FROM key_failures WHERE address = ?', args: [address] });
    expect(Number(rs.rows[0]?.count)).toBe(FAILURE_LIMIT + 2);
    // Another address is not affected.
    await expectError(await start({ magic_key: 'np_guess-again' }, { 'cf-connecting-ip': '203.0.113.8' }), 403, 'key_invalid');
  });

  it('IPv6 clients share one counter per /64', async () => {
    for (let i = 0; i < FAILURE_LIMIT; i++) {
      await expectError(await start({ magic_key: 'np_guess' }, { 'cf-connecting-ip': `2001:db8:7:1::${i + 1}` }), 403, 'key_invalid');
    }
    await expectError(await start({ magic_key: 'np_guess' }, { 'cf-connecting-ip': '2001:db8:7:1:ffff::9' }), 429, 'rate_limited');
    await expectError(await start({ magic_key: keys.valid }, { 'cf-connecting-ip': '2001:db8:7:1:ffff::9' }), 503, 'no_relay');
    await expectError(await start({ magic_key: 'np_guess' }, { 'cf-connecting-ip': '2001:db8:7:2::1' }), 403, 'key_invalid');
  });
});

describe('relay choice without a working relay', () => {
  it('none registered, only stale ones, only full ones (by their open peers, not the heartbeat figure) or only draining ones: 503 no_relay', async () => {
    await expectError(await start({ magic_key: keys.valid }), 503, 'no_relay');
    await upsertRelay(db.db, relayRow('stale', 'http://127.0.0.1:9', { last_heartbeat: Date.now() - 60_000 }));
    await upsertRelay(db.db, relayRow('full', 'http://127.0.0.1:9', { capacity: 2, active_sessions: 0 }));
    for (const peer of ['full-1', 'full-2']) {
      await db.db.execute({ sql: "INSERT INTO relay_peers (peer_id, relay_id, magic_key, conn_id, created_at) VALUES (?, 'full', 'k', ?, ?)", args: [peer, peer, Date.now()] });
    }
    await upsertRelay(db.db, relayRow('draining', 'http://127.0.0.1:9', { state: 'draining' }));
    await expectError(await start({ magic_key: keys.valid }), 503, 'no_relay');
    await db.db.execute("DELETE FROM relay_peers WHERE relay_id = 'full'");
    await dropRelays(['stale', 'full', 'draining']);
  });

  it('failing relays: the best one, then the next two, then 502 relay_failed; every maybe-created peer is deleted', async () => {
    const log: string[] = [];
    const failing = (name: string, answer: { status: number; body?: unknown }) =>
      startFakeRelay((call) => {
        log.push(`${name} ${call.method} ${call.path}`);
        return call.method === 'DELETE' ? { status: 204 } : answer;
      });
    const fakes: FakeRelay[] = [
      await failing('a', { status: 500, body: { error: { code: 'internal_error', message: 'boom' } } }),
      await failing('b', { status: 200, body: { not: 'an answer' } }),
      await failing('c', { status: 500 }),
      await failing('d', { status: 500 }),
    ];
    try {
      // Least loaded first (the heartbeat figure breaks the tie of no open peers): a, b, c; d must not be tried.
      for (const [i, f] of fakes.entries()) await upsertRelay(db.db, relayRow(`fake-${'abcd'[i]}`, f.url, { active_sessions: i }));
      await expectError(await start({ magic_key: keys.valid }), 502, 'relay_failed');
      expect(fakes.map((f) => f.calls.filter((c) => c.method === 'POST').length)).toEqual([1, 1, 1, 0]);
      // Each create carried a token for that relay, naming the key; each was followed by a DELETE of the same peer (sent after the refusal).
      await eventually(async () => fakes.slice(0, 3).every((f) => f.calls.length === 2));
      for (const [i, f] of fakes.slice(0, 2).entries()) {
        const [create, del] = f.calls;
        // The key by its key_id, never in clear (a token is readable by anyone who sees it); a fresh jti on each.
        expect(create?.claims).toMatchObject({ typ: 'relay', op: 'create', aud: `fake-${'ab'[i]}`, key_id: keyIdOf(await sha256Hex(keys.valid)) });
        expect(create?.claims).not.toHaveProperty('magic_key');
        expect(JSON.stringify(create?.claims)).not.toContain(keys.valid);
        expect(create?.claims?.jti).not.toBe(del?.claims?.jti);
        expect(del).toMatchObject({ method: 'DELETE', path: `/internal/peers/${String(create?.claims?.peer_id)}` });
        expect(del?.claims).toMatchObject({ op: 'close', peer_id: create?.claims?.peer_id });
      }
      expect(log.filter((l) => l.includes('POST'))).toEqual(['a POST /internal/peers', 'b POST /internal/peers', 'c POST /internal/peers']);
    } finally {
      await dropRelays(['fake-a', 'fake-b', 'fake-c', 'fake-d']);
      await Promise.all(fakes.map((f) => f.close()));
    }
  });

  it('a relay that does not answer in time counts as failed, and the peer it may have made is deleted', async () => {
    const impatient = await startTestEdge({ libsqlUrl: db.url, libsqlAuthToken: db.authToken, vars: { RELAY_TIMEOUT_MS: '300' } });
    const silent = await startFakeRelay((call) => (call.method === 'DELETE' ? { status: 204 } : null));
    try {
      await upsertRelay(db.db, relayRow('silent', silent.url));
      const t0 = Date.now();
      await expectError(await impatient.post('/api/signaling/start', { sdp: offer, type: 'offer', magic_key: keys.valid }, { 'cf-connecting-ip': freshAddress() }), 502, 'relay_failed');
      expect(Date.now() - t0).toBeLessThan(3_000);
      await eventually(async () => silent.calls.length === 2);
      const [create, del] = silent.calls;
      expect(create?.method).toBe('POST');
      expect(del).toMatchObject({ method: 'DELETE', path: `/internal/peers/${String(create?.claims?.peer_id)}` });
    } finally {
      await dropRelays(['silent']);
      await Promise.all([silent.close(), impatient.close()]);
    }
  });

  it('an unreachable relay counts as failed too', async () => {
    const gone = await startFakeRelay(() => ({ status: 500 }));
    await gone.close();
    await upsertRelay(db.db, relayRow('gone', gone.url));
    await expectError(await start({ magic_key: keys.valid }), 502, 'relay_failed');
    await dropRelays(['gone']);
  });

  it('prefers a relay in the client region (REGION_MAP by continent), even when it is busier', async () => {
    const regional = await startTestEdge({ libsqlUrl: db.url, libsqlAuthToken: db.authToken, vars: { REGION_MAP: JSON.stringify({ EU: ['eu'], '*': ['us'] }) }, cf: { continent: 'EU', colo: 'AMS' } });
    const order: string[] = [];
    const fake = (name: string) => startFakeRelay(() => (order.push(name), { status: 503, body: { error: { code: 'no_relay', message: 'full' } } }));
    const us = await fake('us');
    const eu = await fake('eu');
    try {
      await upsertRelay(db.db, relayRow('r-us', us.url, { region: 'us', active_sessions: 0 }));
      await upsertRelay(db.db, relayRow('r-eu', eu.url, { region: 'eu', active_sessions: 5 }));
      const resp = await regional.post('/api/signaling/start', { sdp: offer, type: 'offer', magic_key: keys.valid }, { 'cf-connecting-ip': freshAddress() });
      await expectError(resp, 502, 'relay_failed');
      expect(order).toEqual(['eu', 'us']);
    } finally {
      await dropRelays(['r-us', 'r-eu']);
      await Promise.all([us.close(), eu.close(), regional.close()]);
    }
  });
});

describe('with a real relay', () => {
  beforeAll(async () => {
    relay = await startTestRelay(db);
  });

  it('an offer the relay cannot answer: 400 invalid_request, no peer', async () => {
    await expectError(await start({ magic_key: keys.valid, sdp: 'v=0\r\nthis is not an offer\r\n' }), 400, 'invalid_request');
  });

  it('a key over its concurrent limit: 403 key_limit_reached, and the refused request creates nothing', async () => {
    const first = await start({ magic_key: keys.single });
    expect(first.status).toBe(200);
    const answer = SignalingStartResponseSchema.parse(await first.json());
    expect(answer).toMatchObject({ relay_id: relay!.relayId, type: 'answer' });
    expect(answer.sdp).toContain('a=candidate');
    await eventually(async () => (await count('SELECT COUNT(*) AS n FROM relay_peers WHERE closed_at IS NULL')) === 1);

    await expectError(await start({ magic_key: keys.single }), 403, 'key_limit_reached');
    expect(relay!.activePeers()).toBe(1);
    expect(await count('SELECT COUNT(*) AS n FROM relay_peers')).toBe(1);

    // Close the admitted peer the way the edge would; the key is free again.
    const peerId = String(peekClaims(answer.session_id).peer_id);
    const token = await relayToken(relay!, { op: 'close', peer_id: peerId });
    const del = await fetch(`${relay!.url}/internal/peers/${peerId}`, { method: 'DELETE', headers: { authorization: `Bearer ${token}` } });
    expect(del.status).toBe(204);
    expect(relay!.activePeers()).toBe(0);
  });

  it('/ice: a forged, altered or expired session handle gets 403 forbidden; a gone peer 404; a dead relay 502', async () => {
    const peer = { relay_id: relay!.relayId, relay_url: relay!.url, peer_id: 'no-such-peer' };
    const candidate = 'candidate:1 1 UDP 2122252543 127.0.0.1 40000 typ host';
    const ice = (session_id: string) => edge.post('/api/signaling/ice', { session_id, candidate, sdp_mid: '0' });

    const forged = await signToken({ typ: 'handle', ...peer, exp: Date.now() + 60_000 }, { current: 'not-the-edge-secret-at-all' }, 'handle');
    await expectError(await ice(forged), 403, 'forbidden', 'session_id');
    // Neither the configured secret itself nor the relay-token key is what handles are signed with.
    await expectError(await ice(await signWithRawSecret({ typ: 'handle', ...peer, exp: Date.now() + 60_000 }, TEST_SECRET)), 403, 'forbidden');
    await expectError(await ice(await signToken({ typ: 'handle', ...peer, exp: Date.now() + 60_000 }, TEST_SECRETS, 'relay')), 403, 'forbidden');

    const genuine = await issueHandle(TEST_SECRETS, peer);
    const [, sig] = genuine.split('.');
    const altered = `${toBase64Url(new TextEncoder().encode(JSON.stringify({ ...peekClaims(genuine), peer_id: 'someone-else' })))}.${sig}`;
    await expectError(await ice(altered), 403, 'forbidden');
    await expectError(await ice('garbage'), 403, 'forbidden');
    await expectError(await ice(await issueHandle(TEST_SECRETS, peer, Date.now() - HANDLE_TTL_MS - 1)), 403, 'forbidden', 'expired');

    await expectError(await ice(genuine), 404, 'not_found');
    await expectError(await ice(await issueHandle(TEST_SECRETS, { ...peer, relay_url: 'http://127.0.0.1:9' })), 502, 'relay_failed');
  });
});
