// Relay choice that learns: a relay that is registered and beating but unreachable (its API hangs, or its UDP
// port drops everything) costs at most its first clients' short attempt, then gets no new clients; the breaker
// skips a relay failing again and again, and lets exactly one recovery probe through once its back-off is over.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runProbe } from '../../cli/run-probe.js';
import { edgeSignal, type Signal } from '../../client/signaling.js';
import { createMagicKey } from '../../shared/db/keys.js';
import { recordRelayFailure, relayHealth, relayOpenedConnection } from '../../shared/db/relay-health.js';
import { availableRelays, markRelayPeerOpened, reserveRelayPeer, upsertRelay, type RelayRecord } from '../../shared/db/relays.js';
import { uuid } from '../../shared/ids.js';
import { candidateRelays } from '../../edge/relay-choice.js';
import type { RelayHandle } from '../../relay/relay.js';
import { makeOffer, startFakeRelay, startTestEdge, type FakeRelay, type TestEdge } from '../helpers/edge.js';
import { eventually, startTestDb, startTestRelay, type TestDb } from '../helpers/system.js';

let db: TestDb;
let key: string;
let offer: string;
const closers: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  db = await startTestDb();
  key = (await createMagicKey(db.db, { label: 'black hole', ttlMs: 3_600_000 })).key;
  offer = await makeOffer();
});

afterAll(async () => {
  for (const close of closers.reverse()) await close();
  await db?.close();
});

/** An edge in workerd that prefers region "bh" (where the black holes are) for everyone. */
async function edgeWith(vars: Record<string, string> = {}): Promise<TestEdge> {
  const edge = await startTestEdge({ libsqlUrl: db.url, libsqlAuthToken: db.authToken, vars: { REGION_MAP: JSON.stringify({ '*': ['bh', 'local'] }), ...vars } });
  closers.push(() => edge.close());
  return edge;
}

/** A relay API that accepts connections and never answers, registered in region "bh" with a heartbeat kept fresh until `stop`. */
async function apiBlackHole(id: string): Promise<FakeRelay & { stop(): Promise<void> }> {
  const hang = await startFakeRelay(() => null);
  const row = (): RelayRecord => ({ id, region: 'bh', public_address: '127.0.0.1:9', internal_url: hang.url, capacity: 100, active_sessions: 0, last_heartbeat: Date.now(), started_at: 0 });
  await upsertRelay(db.db, row());
  const beat = setInterval(() => void upsertRelay(db.db, row()), 500);
  let stopped: Promise<void> | null = null;
  const stop = () =>
    (stopped ??= (async () => {
      clearInterval(beat);
      await db.db.execute({ sql: 'UPDATE relays SET last_heartbeat = 0 WHERE id = ?', args: [id] });
      await hang.close();
    })());
  closers.push(stop);
  return Object.assign(hang, { stop });
}

async function realRelay(overrides: Parameters<typeof startTestRelay>[1] = {}): Promise<RelayHandle> {
  const r = await startTestRelay(db, overrides);
  closers.push(() => r.close());
  return r;
}

interface ClientRun {
  /** The relay that answered the client's last offer (null: none did). */
  relay: string | null;
  /** Every relay that answered one of its offers, in order (a client gives up a relay whose answer does not connect). */
  answeredBy: string[];
  /** The retry_of each offer named (null on a first offer). */
  retryOf: (string | null)[];
  /** From the client's start to its survey measuring; null if it never did. */
  toMeasuringMs: number | null;
  error: string | null;
}

/** One headless client through the edge: a short survey, timed. */
async function oneClient(edge: TestEdge): Promise<ClientRun> {
  const inner = edgeSignal(edge.url, key);
  let relay: string | null = null;
  const answeredBy: string[] = [];
  const retryOf: (string | null)[] = [];
  const signal: Signal = async (o) => {
    retryOf.push(o.retry_of ?? null);
    const answer = await inner(o);
    relay = answer.relay_id;
    answeredBy.push(answer.relay_id);
    return answer;
  };
  const t0 = Date.now();
  let measuringAt: number | null = null;
  try {
    const r = await runProbe({
      url: edge.url,
      key,
      durationMs: 500,
      signal,
      onEvent: (e) => {
        if (e.type === 'status' && e.status === 'measuring') measuringAt ??= Date.now();
      },
    });
    return { relay, answeredBy, retryOf, toMeasuringMs: measuringAt === null ? null : measuringAt - t0, error: r.stoppedBy === 'duration' ? null : r.stoppedBy };
  } catch (e) {
    return { relay, answeredBy, retryOf, toMeasuringMs: null, error: String((e as Error).message ?? e) };
  }
}

async function clientsInARow(edge: TestEdge, n: number): Promise<ClientRun[]> {
  const runs: ClientRun[] = [];
  for (let i = 0; i < n; i++) runs.push(await oneClient(edge));
  return runs;
}

describe('the breaker at the edge, with a black-hole relay alone', () => {
  it('two failures of 2 s each, then the relay is skipped (503 at once); after its back-off, exactly one recovery probe, then a longer back-off', async () => {
    const edge = await edgeWith({ RELAY_BACKOFF_MS: '2000' });
    const hang = await apiBlackHole('bh-alone');
    const timed = async () => {
      const t0 = Date.now();
      const resp = await edge.post('/api/signaling/start', { sdp: offer, type: 'offer', magic_key: key });
      const body = (await resp.json()) as { error?: { code: string } };
      return { status: resp.status, code: body.error?.code, ms: Date.now() - t0 };
    };
    const posts = () => hang.calls.filter((c) => c.method === 'POST').length;
    for (let i = 1; i <= 2; i++) {
      const r = await timed();
      expect({ status: r.status, code: r.code }).toEqual({ status: 502, code: 'relay_failed' });
      // The first attempt's short timeout (RELAY_FIRST_TIMEOUT_MS), not RELAY_TIMEOUT_MS's 8 s.
      expect(r.ms).toBeGreaterThanOrEqual(1_900);
      expect(r.ms).toBeLessThan(3_500);
      expect(posts()).toBe(i);
    }
    expect(await relayHealth(db.db, 'bh-alone')).toMatchObject({ failures: 2, consecutive_failures: 2, never_opened: 0 });
    const skipped = await timed();
    expect({ status: skipped.status, code: skipped.code }).toEqual({ status: 503, code: 'no_relay' });
    expect(skipped.ms).toBeLessThan(1_000);
    expect(posts()).toBe(2);

    // Back-off (2 s after the second failure) over: one client is let through, and fails again.
    const lastFailure = (await relayHealth(db.db, 'bh-alone'))!.last_failure_at!;
    await new Promise((r) => setTimeout(r, Math.max(0, lastFailure + 2_100 - Date.now())));
    const probe = await timed();
    expect(probe.status).toBe(502);
    expect(posts()).toBe(3);
    // Now 4 s: still skipped 2.5 s on.
    await new Promise((r) => setTimeout(r, 2_500));
    expect((await timed()).status).toBe(503);
    expect(posts()).toBe(3);
    await hang.stop();
  });
});

describe('one healthy relay and one black hole', () => {
  let edge: TestEdge;
  let a: RelayHandle;
  beforeAll(async () => {
    // A back-off longer than the test: B gets no recovery probe here (see the test above for those).
    edge = await edgeWith({ RELAY_BACKOFF_MS: '120000' });
    a = await realRelay();
  });

  it('an API that accepts connections and never answers (in the preferred region): 20 clients in a row all measure on A, each within 3 s; B is asked once or twice', async () => {
    const hang = await apiBlackHole('bh-api');
    const runs = await clientsInARow(edge, 20);
    expect(runs.map((r) => r.error)).toEqual(Array(20).fill(null));
    expect(runs.map((r) => r.relay)).toEqual(Array(20).fill(a.relayId));
    for (const r of runs) expect(r.toMeasuringMs).toBeLessThan(3_000);
    const asked = hang.calls.filter((c) => c.method === 'POST').length;
    expect(asked).toBeGreaterThanOrEqual(1);
    expect(asked).toBeLessThanOrEqual(2);
    expect((await relayHealth(db.db, 'bh-api'))?.failures).toBe(asked);
    await hang.stop();
  });

  it('a UDP port that drops everything (candidates at an address nobody answers, in the preferred region): every client measures within 3 s, those B answered first by giving B up and signaling again (retry_of); B gets its first client or two', async () => {
    // TEST-NET-1: the client's checks go nowhere. The client gives B's answer up after its connect bound (1.5 s) and
    // signals again naming it; the edge records B's failure, skips B for that retry and closes the peer on B.
    const b = await realRelay({ region: 'bh', publicAddresses: ['192.0.2.1'] });
    const runs = await clientsInARow(edge, 20);
    for (const r of runs) {
      expect(r).toMatchObject({ relay: a.relayId, error: null });
      expect(r.toMeasuringMs).toBeLessThan(3_000);
    }
    const viaB = runs.filter((r) => r.answeredBy.includes(b.relayId));
    expect(viaB.length).toBeGreaterThanOrEqual(1);
    expect(viaB.length).toBeLessThanOrEqual(2);
    for (const r of viaB) {
      expect(r.answeredBy).toEqual([b.relayId, a.relayId]);
      expect(r.retryOf[0]).toBeNull();
      expect(r.retryOf[1]).toEqual(expect.any(String));
    }
    // Counted once per connection given up (the edge closed the peers on B, so B's own open timeout counts nothing more).
    await eventually(async () => (await relayHealth(db.db, b.relayId))?.never_opened === viaB.length, 20_000);
    await eventually(async () => b.activePeers() === 0, 5_000);
    expect((await relayHealth(db.db, b.relayId))?.never_opened).toBe(viaB.length);
  }, 120_000);
});

describe('the breaker in the database', () => {
  const policy = { failures: 2, backoffMs: 10_000, maxBackoffMs: 320_000, probeHoldMs: 20_000 };
  const row = (id: string, now: number): RelayRecord => ({ id, region: 'db', public_address: 'x:1', internal_url: 'http://127.0.0.1:9', capacity: 100, active_sessions: 0, last_heartbeat: now, started_at: now });
  // The clock moves on in the statements' `now`; the heartbeats stay fresh (written at t).
  const t = Date.now();
  const offered = async (id: string, now: number) => (await availableRelays(db.db, t - 1_000, policy, now)).some((r) => r.id === id);
  const reserve = (id: string, now: number) => reserveRelayPeer(db.db, { peer_id: uuid(), relay_id: id, magic_key: `k-${uuid()}`, conn_id: uuid() }, { maxPerKey: null, freshSince: t - 1_000, breaker: policy, now });

  it('ranks a relay with one failure last, skips it after two for a back-off that doubles, lets one of many parallel edges probe it, and forgets it all once a connection opens', async () => {
    await upsertRelay(db.db, { ...row('brk', t), region: 'db-near' });
    await upsertRelay(db.db, row('brk-ok', t));
    await recordRelayFailure(db.db, 'brk', 'call', 'no answer within 2000 ms', t);
    // Though preferred by region and as loaded as the other.
    const order = await candidateRelays(db.db, { freshMs: 1_000, breaker: policy, regionMap: { '*': ['db-near'] }, place: undefined, mode: 'local', now: t });
    expect(order.filter((r) => r.id.startsWith('brk')).map((r) => r.id)).toEqual(['brk-ok', 'brk']);
    await recordRelayFailure(db.db, 'brk', 'never_opened', 'a connection this relay answered never opened', t);
    expect(await offered('brk', t + 9_000)).toBe(false);
    expect(await reserve('brk', t + 9_000)).toBe('relay_unavailable');

    // Back-off over: one probe among ten edges asking at once.
    const probes = await Promise.all(Array.from({ length: 10 }, () => reserve('brk', t + 10_500)));
    expect(probes.filter((p) => p === 'reserved')).toHaveLength(1);
    expect(await offered('brk', t + 11_000)).toBe(false);

    // The probe failed: 20 s now.
    await recordRelayFailure(db.db, 'brk', 'call', 'no answer within 2000 ms', t + 12_000);
    expect(await offered('brk', t + 12_000 + 19_000)).toBe(false);
    expect(await offered('brk', t + 12_000 + 20_500)).toBe(true);
    expect(await relayHealth(db.db, 'brk')).toMatchObject({ failures: 2, never_opened: 1, consecutive_failures: 3 });

    // A connection opened on it: the streak is gone.
    await db.db.execute(relayOpenedConnection('brk', t + 13_000));
    expect(await offered('brk', t + 13_000)).toBe(true);
    expect((await relayHealth(db.db, 'brk'))?.consecutive_failures).toBe(0);
  });

  it('ranks last a relay holding a peer it answered seconds ago that has not opened, until it opens', async () => {
    await upsertRelay(db.db, { ...row('unop', t), region: 'db-near' });
    await upsertRelay(db.db, row('unop-ok', t));
    await db.db.execute({ sql: "INSERT INTO relay_peers (peer_id, relay_id, magic_key, conn_id, created_at) VALUES ('unop-peer', 'unop', 'k', 'c', ?)", args: [t - 5_000] });
    const order = async () => (await candidateRelays(db.db, { freshMs: 1_000, breaker: policy, regionMap: { '*': ['db-near'] }, place: undefined, mode: 'local', now: t })).filter((r) => r.id.startsWith('unop')).map((r) => r.id);
    expect(await order()).toEqual(['unop-ok', 'unop']);
    await db.db.execute(markRelayPeerOpened('unop-peer', t));
    expect(await order()).toEqual(['unop', 'unop-ok']);
  });
});
