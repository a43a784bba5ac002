// A magic key's limits hold under races, reconnects, revocation and forgotten connections: concurrent sessions are
// reserved atomically at the edge, measuring time is counted per survey across reconnects, and the relay ends
// connections whose key was revoked or expired, that went quiet, or that stayed open too long; a key created
// without a concurrency limit gets the default one.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { edgeSignal } from '../../client/signaling.js';
import { hashPassword } from '../../shared/auth/password.js';
import { createMagicKey, revokeMagicKey } from '../../shared/db/keys.js';
import { createUser } from '../../shared/db/users.js';
import { closeStrayPeers, reserveRelayPeer, upsertRelay } from '../../shared/db/relays.js';
import { uuid } from '../../shared/ids.js';
import type { ControlMessage } from '../../shared/protocol/control.js';
import { SignalingStartResponseSchema } from '../../shared/protocol/signaling.js';
import type { RelayHandle } from '../../relay/relay.js';
import { makeOffer, peekClaims, startTestEdge, type TestEdge } from '../helpers/edge.js';
import { loginCookie } from '../helpers/principals.js';
import { errorOf, openRawClient, type RawClient } from '../helpers/raw-client.js';
import { directSignal, eventually, metricRows, relayToken, startTestDb, startTestRelay, type TestDb } from '../helpers/system.js';

let db: TestDb;
let relay: RelayHandle;
let edge: TestEdge;

/** The time a connection whose measuring time is used up stays open, short for the test. */
const LIMIT_GRACE_MS = 1_000;
/** The edge's default breaker (no relay here has failed). */
const BREAKER = { failures: 2, backoffMs: 10_000, maxBackoffMs: 320_000, probeHoldMs: 20_000 };

beforeAll(async () => {
  db = await startTestDb();
  relay = await startTestRelay(db, { limitGraceMs: LIMIT_GRACE_MS, keyCheckMs: 1_000 });
  edge = await startTestEdge({ libsqlUrl: db.url, libsqlAuthToken: db.authToken });
});

afterAll(async () => {
  await relay?.close();
  await edge?.close();
  await db?.close();
});

const count = (type: ControlMessage['type']) => (r: ControlMessage[]) => r.filter((m) => m.type === type).length;
const hasError = (code: string) => (r: ControlMessage[]) => errorOf(r, code) !== undefined;

async function openPeersOf(key: string): Promise<number> {
  const rs = await db.db.execute({ sql: 'SELECT COUNT(*) AS n FROM relay_peers WHERE magic_key = ? AND closed_at IS NULL', args: [key] });
  return Number(rs.rows[0]?.n);
}

/** Closes a peer the edge handed out, the way the edge does. */
async function closeHandedOut(sessionId: string): Promise<void> {
  const peerId = String(peekClaims(sessionId).peer_id);
  const token = await relayToken(relay, { op: 'close', peer_id: peerId });
  const resp = await fetch(`${relay.url}/internal/peers/${peerId}`, { method: 'DELETE', headers: { authorization: `Bearer ${token}` } });
  expect(resp.status).toBe(204);
}

/** Starts a survey on a raw connection and waits for the relay's readiness. */
async function startSurvey(c: RawClient, surveyId: string): Promise<void> {
  c.send({ type: 'start_survey_session', survey_session_id: surveyId });
  await c.until((r) => r.some((m) => m.type === 'server_side_ready'));
}

/** Asks what is left of the survey's measuring time. */
async function measuringTimeLeft(c: RawClient, surveyId: string): Promise<number> {
  const before = count('measuring_time_response')(c.replies);
  c.send({ type: 'get_measuring_time', survey_session_id: surveyId });
  await c.until((r) => count('measuring_time_response')(r) > before);
  const answer = c.replies.filter((m) => m.type === 'measuring_time_response').at(-1);
  return answer?.type === 'measuring_time_response' ? answer.max_duration_ms : NaN;
}

describe('concurrent sessions of a key', () => {
  it('six parallel starts against a key allowing two: exactly two get an answer, four get key_limit_reached', async () => {
    const key = (await createMagicKey(db.db, { label: 'two at a time', maxConcurrentSessions: 2 })).key;
    const offer = await makeOffer();
    const start = (i: number) =>
      edge.post('/api/signaling/start', { sdp: offer, type: 'offer', magic_key: key }, { 'cf-connecting-ip': `198.51.100.${i + 1}` });
    const responses = await Promise.all(Array.from({ length: 6 }, (_, i) => start(i)));
    const bodies = await Promise.all(responses.map(async (r) => ({ status: r.status, body: (await r.json()) as Record<string, unknown> })));

    const admitted = bodies.filter((b) => b.status === 200);
    const refused = bodies.filter((b) => b.status !== 200);
    expect(admitted).toHaveLength(2);
    expect(refused).toHaveLength(4);
    for (const r of refused) expect(r).toMatchObject({ status: 403, body: { error: { code: 'key_limit_reached' } } });
    expect(await openPeersOf(key)).toBe(2);
    expect(relay.activePeers()).toBe(2);

    // Closing one frees its slot: the next start is admitted, the one after that refused again.
    const sessions = admitted.map((a) => SignalingStartResponseSchema.parse(a.body).session_id);
    await closeHandedOut(sessions[0]!);
    await eventually(async () => (await openPeersOf(key)) === 1);
    const again = await start(7);
    expect(again.status).toBe(200);
    sessions[0] = SignalingStartResponseSchema.parse(await again.json()).session_id;
    expect((await start(8)).status).toBe(403);

    for (const s of sessions) await closeHandedOut(s);
    await eventually(async () => (await openPeersOf(key)) === 0);
    expect(relay.activePeers()).toBe(0);
  });
});

describe('the default concurrency of a new key', () => {
  it('a key created in the console without limits carries the default (4), which the form is told; a given limit wins', async () => {
    await createUser(db.db, { login: 'key-maker', role: 'admin', passwordHash: await hashPassword('key maker password') });
    const cookie = await loginCookie(edge.url, 'key-maker', 'key maker password');
    const create = async (body: Record<string, unknown>) => {
      const resp = await edge.post('/api/keys', body, { cookie });
      expect(resp.status).toBe(201);
      return (await resp.json()) as { key_id: string; max_concurrent_sessions: number | null };
    };
    const plain = await create({ label: 'no limits given' });
    expect(plain.max_concurrent_sessions).toBe(4);
    const stored = await db.db.execute({ sql: 'SELECT max_concurrent_sessions FROM magic_keys WHERE key_id = ?', args: [plain.key_id] });
    expect(Number(stored.rows[0]!.max_concurrent_sessions)).toBe(4);
    expect((await create({ label: 'two', max_concurrent_sessions: 2 })).max_concurrent_sessions).toBe(2);
    const defaults = await fetch(`${edge.url}/api/keys/defaults`, { headers: { cookie } });
    expect(await defaults.json()).toEqual({ max_concurrent_sessions: 4 });
    expect((await fetch(`${edge.url}/api/keys/defaults`)).status).toBe(401);
  });
});

describe('reservations in the database', () => {
  it('twenty parallel reservations against a limit of three: exactly three go in; a dead relay’s peers do not count', async () => {
    const now = Date.now();
    const relayRow = (id: string, heartbeat: number) => ({ id, region: 'local', public_address: '127.0.0.1:9', internal_url: 'http://127.0.0.1:9', capacity: 10, active_sessions: 0, last_heartbeat: heartbeat, started_at: now });
    await upsertRelay(db.db, relayRow('resv-live', now));
    await upsertRelay(db.db, relayRow('resv-dead', now - 60_000));
    const peer = (relayId: string) => ({ peer_id: uuid(), relay_id: relayId, magic_key: 'resv-key', conn_id: uuid() });
    const reserve = (relayId: string, maxPerKey: number | null, freshSince: number) => reserveRelayPeer(db.db, peer(relayId), { maxPerKey, freshSince, breaker: BREAKER });
    // A peer left open on a relay that stopped beating does not hold a slot.
    expect(await reserve('resv-dead', 3, now - 60_000)).toBe('reserved');
    const results = await Promise.all(Array.from({ length: 20 }, () => reserve('resv-live', 3, now - 10_000)));
    expect(results.filter((r) => r === 'reserved')).toHaveLength(3);
    expect(results.filter((r) => r === 'key_limit')).toHaveLength(17);
    // No limit: in while the relay has room.
    expect(await reserve('resv-live', null, now - 10_000)).toBe('reserved');
  });

  it('twenty parallel reservations on a relay of capacity four holding two: exactly two go in, counted from its open rows, not the heartbeat figure; none on a draining relay', async () => {
    const now = Date.now();
    // The heartbeat says empty; the two open rows (a live peer, a reservation) are what counts.
    const relay = (id: string, state: 'ready' | 'draining') => ({ id, region: 'local', public_address: '127.0.0.1:9', internal_url: 'http://127.0.0.1:9', capacity: 4, active_sessions: 0, last_heartbeat: now, started_at: now, state });
    await upsertRelay(db.db, relay('cap-4', 'ready'));
    await upsertRelay(db.db, relay('cap-drain', 'draining'));
    for (const id of ['held-1', 'held-2']) await db.db.execute({ sql: 'INSERT INTO relay_peers (peer_id, relay_id, magic_key, conn_id, created_at) VALUES (?, ?, ?, ?, ?)', args: [id, 'cap-4', 'other-key', uuid(), now] });
    const reserve = (relayId: string) => reserveRelayPeer(db.db, { peer_id: uuid(), relay_id: relayId, magic_key: `cap-key-${uuid()}`, conn_id: uuid() }, { maxPerKey: 5, freshSince: now - 10_000, breaker: BREAKER });
    const results = await Promise.all(Array.from({ length: 20 }, () => reserve('cap-4')));
    expect(results.filter((r) => r === 'reserved')).toHaveLength(2);
    expect(results.filter((r) => r === 'relay_unavailable')).toHaveLength(18);
    expect(await reserve('cap-drain')).toBe('relay_unavailable');
    // A slot given back is free again at once.
    await db.db.execute("UPDATE relay_peers SET closed_at = 1 WHERE peer_id = 'held-1'");
    expect(await reserve('cap-4')).toBe('reserved');
    expect(await reserve('cap-4')).toBe('relay_unavailable');
  });

  it('a relay closes old open rows of peers it does not hold (an edge that died before releasing), not its live ones', async () => {
    const now = Date.now();
    const row = (peerId: string, createdAt: number) => ({ sql: 'INSERT INTO relay_peers (peer_id, relay_id, magic_key, conn_id, created_at) VALUES (?, ?, ?, ?, ?)', args: [peerId, 'sweep-relay', 'sweep-key', uuid(), createdAt] });
    await db.db.batch([row('stray-old', now - 120_000), row('live-old', now - 120_000), row('stray-new', now)], 'write');
    expect(await closeStrayPeers(db.db, 'sweep-relay', ['live-old'], now - 60_000)).toBe(1);
    const rs = await db.db.execute({ sql: "SELECT peer_id FROM relay_peers WHERE relay_id = 'sweep-relay' AND closed_at IS NULL ORDER BY peer_id", args: [] });
    expect(rs.rows.map((r) => r.peer_id)).toEqual(['live-old', 'stray-new']);
  });
});

describe('measuring time of a survey', () => {
  it('a reconnect gets only what is left: 2 s used, reconnect with the same survey, time_limit_reached after about 1 s, then closed', async () => {
    const key = (await createMagicKey(db.db, { label: 'three seconds', maxMeasuringMs: 3_000 })).key;
    const surveyId = uuid();

    const first = await openRawClient(edgeSignal(edge.url, key));
    await startSurvey(first, surveyId);
    expect(await measuringTimeLeft(first, surveyId)).toBe(3_000);
    first.send({ type: 'start_probe_streams', survey_session_id: surveyId });
    // Two of the relay's once-a-second reports: about 2 s measured.
    await first.until((r) => count('probe_stats')(r) >= 2);
    first.conn.close();

    const second = await openRawClient(edgeSignal(edge.url, key));
    await startSurvey(second, surveyId);
    const left = await measuringTimeLeft(second, surveyId);
    expect(left).toBeGreaterThan(0);
    expect(left).toBeLessThanOrEqual(1_100);
    const started = Date.now();
    second.send({ type: 'start_probe_streams', survey_session_id: surveyId });
    await second.until(hasError('time_limit_reached'));
    const ranMs = Date.now() - started;
    expect(ranMs).toBeLessThan(1_800);
    expect(ranMs).toBeGreaterThan(left - 300);

    // Used up: the connection does not stay open (closed after the grace), and neither does a third one that tries.
    await second.closed;
    expect(Date.now() - started).toBeLessThan(ranMs + LIMIT_GRACE_MS + 2_000);
    const third = await openRawClient(edgeSignal(edge.url, key));
    await startSurvey(third, surveyId);
    expect(await measuringTimeLeft(third, surveyId)).toBe(0);
    third.send({ type: 'start_probe_streams', survey_session_id: surveyId });
    await third.until(hasError('time_limit_reached'));
    await third.closed;

    // The survey's measured time is in the database: the key's 3 s, not 3 s per connection.
    const measured = await eventually(async () => {
      const rs = await db.db.execute({ sql: 'SELECT measured_ms FROM survey_sessions WHERE session_id = ?', args: [surveyId] });
      const ms = Number(rs.rows[0]?.measured_ms ?? 0);
      return ms >= 2_900 ? ms : null;
    });
    expect(measured).toBeLessThanOrEqual(3_300);
    await eventually(async () => (await openPeersOf(key)) === 0);
  });
});

describe('measuring time across relays', () => {
  let other: RelayHandle;
  beforeAll(async () => {
    other = await startTestRelay(db, { limitGraceMs: LIMIT_GRACE_MS });
  });
  afterAll(async () => {
    await other?.close();
  });

  it('a reconnect to another relay gets only what the database says is left, even when it starts streams without asking', async () => {
    const key = 'cross-relay-key';
    const surveyId = uuid();
    const first = await openRawClient(directSignal(relay, { magicKey: key, maxMeasuringMs: 3_000 }));
    await startSurvey(first, surveyId);
    first.send({ type: 'start_probe_streams', survey_session_id: surveyId });
    await first.until((r) => count('probe_stats')(r) >= 2);
    first.conn.close();
    // What the first relay measured reaches the database in its batched writes.
    await eventually(async () => {
      const rs = await db.db.execute({ sql: 'SELECT measured_ms FROM survey_sessions WHERE session_id = ?', args: [surveyId] });
      return Number(rs.rows[0]?.measured_ms ?? 0) >= 1_900;
    });

    const second = await openRawClient(directSignal(other, { magicKey: key, maxMeasuringMs: 3_000 }));
    await startSurvey(second, surveyId);
    const started = Date.now();
    second.send({ type: 'start_probe_streams', survey_session_id: surveyId });
    await second.until(hasError('time_limit_reached'));
    expect(Date.now() - started).toBeLessThan(1_800);
    await second.closed;
  });
});

describe('revocation and expiry', () => {
  it('revoking the key of a live session ends it within 10 s with key_revoked, its last window written', async () => {
    const key = (await createMagicKey(db.db, { label: 'to be revoked' })).key;
    const surveyId = uuid();
    const c = await openRawClient(edgeSignal(edge.url, key));
    await startSurvey(c, surveyId);
    c.send({ type: 'start_probe_streams', survey_session_id: surveyId });
    await c.until((r) => count('probe_stats')(r) >= 1);

    const revokedAt = Date.now();
    const windowsBefore = count('probe_stats')(c.replies);
    expect(await revokeMagicKey(db.db, key)).toBe(true);
    await c.until(hasError('key_revoked'));
    expect(Date.now() - revokedAt).toBeLessThan(10_000);
    expect(errorOf(c.replies, 'key_revoked')).toMatchObject({ message: expect.stringContaining('revoked') });
    await c.closed;
    await eventually(async () => (await openPeersOf(key)) === 0);

    // The streams stopped with a final window, sent just before the error; every window sent is written.
    const sent = c.replies.filter((m) => m.type === 'probe_stats').length;
    expect(sent).toBeGreaterThan(windowsBefore);
    expect(c.replies.at(-2)?.type).toBe('probe_stats');
    await eventually(async () => (await metricRows(db.db, surveyId)).filter((r) => r.source === 'server').length === sent);
    const rs = await eventually(async () => {
      const r = await db.db.execute({ sql: 'SELECT end_time, end_reason FROM survey_sessions WHERE session_id = ?', args: [surveyId] });
      return r.rows[0]?.end_reason ? r : null;
    });
    expect(Number(rs.rows[0]?.end_time)).toBeGreaterThanOrEqual(revokedAt);
    // The survey says why it ended.
    expect(rs.rows[0]?.end_reason).toBe('key_revoked');
  });

  it('a key that expires during a session ends it with key_expired', async () => {
    const key = (await createMagicKey(db.db, { label: 'short-lived', ttlMs: 2_500 })).key;
    const c = await openRawClient(edgeSignal(edge.url, key));
    await startSurvey(c, uuid());
    await c.until(hasError('key_expired'));
    await c.closed;
    expect(errorOf(c.replies, 'key_revoked')).toBeUndefined();
  });

  it('a key the database no longer holds (its row removed after signaling) is left alone', async () => {
    const c = await openRawClient(directSignal(relay, { magicKey: 'not-in-the-database' }));
    // A relay takes a peer only for a key its database holds (read by key_id); the row goes after that.
    await db.db.execute({ sql: 'DELETE FROM magic_keys WHERE key = ?', args: ['not-in-the-database'] });
    const surveyId = uuid();
    await startSurvey(c, surveyId);
    c.send({ type: 'start_probe_streams', survey_session_id: surveyId });
    // Three key checks go by (one a second here) while the survey runs.
    await c.until((r) => count('probe_stats')(r) >= 3);
    expect(c.replies.filter((m) => m.type === 'error')).toEqual([]);
    c.conn.close();
  });
});

describe('forgotten connections', () => {
  const IDLE_MS = 1_500;
  const MAX_MS = 4_000;
  let watched: RelayHandle;
  beforeAll(async () => {
    watched = await startTestRelay(db, { idleTimeoutMs: IDLE_MS, maxConnectionMs: MAX_MS });
  });
  afterAll(async () => {
    await watched?.close();
  });

  it('a connection the client says nothing on is closed after the idle timeout, with idle_timeout', async () => {
    const opened = Date.now();
    const c = await openRawClient(directSignal(watched, { magicKey: 'idle-key' }));
    await Promise.race([c.until(hasError('idle_timeout')), c.closed]);
    const after = Date.now() - opened;
    expect(c.replies).toContainEqual(expect.objectContaining({ type: 'error', code: 'idle_timeout' }));
    expect(after).toBeGreaterThanOrEqual(IDLE_MS - 100);
    expect(after).toBeLessThan(IDLE_MS + 2_500);
    await c.closed;
    await eventually(async () => watched.activePeers() === 0);
  });

  it('a connection that keeps talking outlives the idle timeout, and is closed at the lifetime cap with connection_time_limit', async () => {
    const opened = Date.now();
    const c = await openRawClient(directSignal(watched, { magicKey: 'chatty-key' }));
    const surveyId = uuid();
    await startSurvey(c, surveyId);
    // A control message every 500 ms: never quiet for the idle timeout.
    const chatter = setInterval(() => {
      if (c.conn.channels.control.readyState === 'open') c.send({ type: 'get_measuring_time', survey_session_id: surveyId });
    }, 500);
    try {
      await c.until(hasError('connection_time_limit'));
    } finally {
      clearInterval(chatter);
    }
    const after = Date.now() - opened;
    expect(after).toBeGreaterThanOrEqual(MAX_MS - 100);
    expect(after).toBeLessThan(MAX_MS + 2_500);
    expect(errorOf(c.replies, 'idle_timeout')).toBeUndefined();
    expect(count('measuring_time_response')(c.replies)).toBeGreaterThanOrEqual(4);
    await c.closed;
    await eventually(async () => watched.activePeers() === 0);
  });
});
