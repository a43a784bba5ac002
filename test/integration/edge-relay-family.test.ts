// The edge's relay choice by address family: a client's offer `ip_version`, else its CF-Connecting-IP, picks a
// relay with a public address of that family before a less loaded one without; with neither, load decides.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMagicKey } from '../../shared/db/keys.js';
import { upsertRelay, type PublicAddress } from '../../shared/db/relays.js';
import { makeOffer, startFakeRelay, startTestEdge, type FakeRelay, type TestEdge } from '../helpers/edge.js';
import { startTestDb, type TestDb } from '../helpers/system.js';

let db: TestDb;
let edge: TestEdge;
let v4: FakeRelay;
let v6: FakeRelay;
let key: string;
let offer: string;

// A conflict is the client's (PROTOCOL.md §2): the edge asks no other relay, so each start reaches exactly its first choice.
const conflict = () => ({ status: 409, body: { error: { code: 'conflict', message: 'fake: conn_id is live' } } });

function register(id: string, url: string, addresses: PublicAddress[], activeSessions: number): Promise<void> {
  const now = Date.now();
  return upsertRelay(db.db, { id, region: 'local', public_address: `${addresses[0]!.address}:9`, public_addresses: addresses, internal_url: url, capacity: 10, active_sessions: activeSessions, last_heartbeat: now, started_at: now });
}

beforeAll(async () => {
  db = await startTestDb();
  [v4, v6] = await Promise.all([startFakeRelay(conflict), startFakeRelay(conflict)]);
  // The IPv6 relay is the more loaded one: by load alone, everyone goes to the IPv4 relay.
  await register('v4-only', v4.url, [{ address: '203.0.113.7', family: 'ipv4' }], 0);
  await register('v6-only', v6.url, [{ address: '2001:db8::7', family: 'ipv6' }], 5);
  // As behind Cloudflare: CF-Connecting-IP is the client's address.
  edge = await startTestEdge({ libsqlUrl: db.url, libsqlAuthToken: db.authToken, vars: { TRUST_CLIENT_ADDRESS_HEADER: 'true' } });
  key = (await createMagicKey(db.db, { label: 'family', ttlMs: 3_600_000 })).key;
  offer = await makeOffer();
});

afterAll(async () => {
  await edge?.close();
  await Promise.all([v4?.close(), v6?.close()]);
  await db?.close();
});

/** Starts a signaling and says which fake relay it reached. */
async function chosen(body: Record<string, unknown>, headers: Record<string, string> = {}, via: TestEdge = edge): Promise<string> {
  const [n4, n6] = [v4.calls.length, v6.calls.length];
  const resp = await via.post('/api/signaling/start', { sdp: offer, type: 'offer', magic_key: key, ...body }, headers);
  expect(resp.status).toBe(409);
  const reached = [...(v4.calls.length > n4 ? ['v4-only'] : []), ...(v6.calls.length > n6 ? ['v6-only'] : [])];
  expect(reached).toHaveLength(1);
  return reached[0]!;
}

describe("the edge's relay choice by address family", () => {
  it('goes by load when the family is not known', async () => {
    expect(await chosen({})).toBe('v4-only');
  });

  it("prefers a relay serving the offer's ip_version", async () => {
    expect(await chosen({ ip_version: 'ipv6' })).toBe('v6-only');
    expect(await chosen({ ip_version: 'ipv4' }, { 'cf-connecting-ip': '2001:db8:1::5' })).toBe('v4-only');
  });

  it('takes the family from CF-Connecting-IP when the offer does not name one, and only where that header is trusted', async () => {
    expect(await chosen({}, { 'cf-connecting-ip': '2001:db8:1::5' })).toBe('v6-only');
    expect(await chosen({}, { 'cf-connecting-ip': '198.51.100.4' })).toBe('v4-only');
    const untrusting = await startTestEdge({ libsqlUrl: db.url, libsqlAuthToken: db.authToken, vars: { TRUST_CLIENT_ADDRESS_HEADER: 'false' } });
    try {
      expect(await chosen({}, { 'cf-connecting-ip': '2001:db8:1::5' }, untrusting)).toBe('v4-only');
    } finally {
      await untrusting.close();
    }
  });

  it('reads a relay row written before public_addresses (NULL) by its public_address', async () => {
    await db.db.execute({ sql: "UPDATE relays SET public_addresses = NULL, public_address = '[2001:db8::7]:9' WHERE id = 'v6-only'" });
    expect(await chosen({ ip_version: 'ipv6' })).toBe('v6-only');
  });
});
