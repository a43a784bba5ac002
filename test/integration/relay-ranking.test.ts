// Relay choice ranked in SQL (shared/db/relay-ranking.ts), in real libSQL: the order a client's candidates come in
// (suspects last, then the client's address family, preferred regions, load), read from crafted relays whose order
// is worked out by hand here; and the batch's reservation, which takes the first of them only for a usable key.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createMagicKey, revokeMagicKey, type MagicKey } from '../../shared/db/keys.js';
import { recordRelayFailure } from '../../shared/db/relay-health.js';
import { bestRelayReservationFrom, rankedRelaysStatement, reserveBestRelayStatements, type RelayRanking } from '../../shared/db/relay-ranking.js';
import { relayCandidateFrom, upsertRelay } from '../../shared/db/relays.js';
import { sha256Hex } from '../../shared/signing.js';
import type { IpFamily } from '../../shared/ip-family.js';
import { startTestDb, type TestDb } from '../helpers/system.js';

let db: TestDb;
const now = Date.now();
const breaker = { failures: 3, backoffMs: 60_000, maxBackoffMs: 600_000, probeHoldMs: 10_000 };
const ranking = (family?: IpFamily, httpsOnly = false): RelayRanking => ({ freshSince: now - 10_000, breaker, now, preferred: ['eu-central', 'eu-west'], family, httpsOnly });

/** id, region, public_address, public_addresses (undefined: NULL, as a relay older than the column leaves it), open peers. */
const RELAYS: [string, string, string, string | undefined, number][] = [
  ['a-us', 'us', '198.51.100.1:50000', '[{"address":"198.51.100.1","family":"ipv4"}]', 0],
  ['b-euw', 'eu-west', '198.51.100.2:50000', '[{"address":"198.51.100.2","family":"ipv4"}]', 2],
  ['c-euc', 'eu-central', '198.51.100.3:50000', '[{"address":"198.51.100.3","family":"ipv4"}]', 5],
  ['d-euw', 'eu-west', '198.51.100.4:50000', '[{"address":"198.51.100.4","family":"ipv4"}]', 0],
  ['e-euc-v6', 'eu-central', '[2001:db8::5]:50000', '[{"address":"2001:db8::5","family":"ipv6"}]', 0],
  // Suspect: one failed call (short of the breaker's three).
  ['f-euc-suspect', 'eu-central', '198.51.100.6:50000', '[{"address":"198.51.100.6","family":"ipv4"}]', 0],
  // No list: the family is public_address's ([v6]:port, v4:port).
  ['g-euc-old-v6', 'eu-central', '[2001:db8::7]:50000', undefined, 1],
  ['i-ap-old-v4', 'ap', '198.51.100.9:50000', undefined, 0],
  // A list PublicAddressSchema refuses (an empty address): public_address's family, IPv4, counts.
  ['j-zz-bad-list', 'zz', '198.51.100.10:50000', '[{"address":"","family":"ipv6"}]', 0],
  // Full: capacity 1 with one open peer; never a candidate.
  ['k-euc-full', 'eu-central', '198.51.100.11:50000', '[{"address":"198.51.100.11","family":"ipv4"}]', 1],
];

let key: MagicKey;

beforeAll(async () => {
  db = await startTestDb();
  key = await createMagicKey(db.db, { label: 'ranking' });
  for (const [id, region, publicAddress, list, open] of RELAYS) {
    await upsertRelay(db.db, { id, region, public_address: publicAddress, internal_url: `http://${id}.relays.example`, capacity: id.includes('full') ? 1 : 10, active_sessions: 0, last_heartbeat: now, started_at: now - 1 });
    await db.db.execute({ sql: 'UPDATE relays SET public_addresses = ? WHERE id = ?', args: [list ?? null, id] });
    for (let i = 0; i < open; i++) {
      await db.db.execute({ sql: 'INSERT INTO relay_peers (peer_id, relay_id, magic_key, conn_id, created_at, opened_at) VALUES (?, ?, ?, ?, ?, ?)', args: [`${id}-open-${i}`, id, 'other-key', `c${i}`, now - 1, now - 1] });
    }
  }
  await recordRelayFailure(db.db, 'f-euc-suspect', 'call', 'test failure', now - 1_000);
}, 60_000);

afterAll(async () => {
  await db?.close();
});

beforeEach(async () => {
  await db.db.execute("DELETE FROM relay_peers WHERE peer_id LIKE 'res-%'");
});

const order = async (r: RelayRanking) => (await db.db.execute(rankedRelaysStatement(r))).rows.map((row) => relayCandidateFrom(row as unknown as Record<string, unknown>).id);

const reserve = async (r: RelayRanking, keyText: string, peerId = 'res-1') =>
  bestRelayReservationFrom(await db.db.batch(reserveBestRelayStatements(r, { peerId, connId: 'conn-1', keyHash: await sha256Hex(keyText) }, breaker.probeHoldMs), 'write'));

describe('relay ranking in SQL', () => {
  it('puts suspects last, then relays without the client’s family, then preferred regions in order, then the least loaded', async () => {
    // IPv4 client: c (eu-central), d then b (eu-west: 0 and 2 of 10 open), a, i, j (unpreferred, idle: by id);
    // then the IPv6-only e and g (eu-central; g has 1 open); the suspect f last; k is full.
    expect(await order(ranking('ipv4'))).toEqual(['c-euc', 'd-euw', 'b-euw', 'a-us', 'i-ap-old-v4', 'j-zz-bad-list', 'e-euc-v6', 'g-euc-old-v6', 'f-euc-suspect']);
    expect(await order(ranking('ipv6'))).toEqual(['e-euc-v6', 'g-euc-old-v6', 'c-euc', 'd-euw', 'b-euw', 'a-us', 'i-ap-old-v4', 'j-zz-bad-list', 'f-euc-suspect']);
    // Family unknown: regions and load alone (e before c: 0 open against 5).
    expect(await order(ranking())).toEqual(['e-euc-v6', 'g-euc-old-v6', 'c-euc', 'd-euw', 'b-euw', 'a-us', 'i-ap-old-v4', 'j-zz-bad-list', 'f-euc-suspect']);
    expect(await order({ ...ranking('ipv4'), skip: 'c-euc' })).toEqual(['d-euw', 'b-euw', 'a-us', 'i-ap-old-v4', 'j-zz-bad-list', 'e-euc-v6', 'g-euc-old-v6', 'f-euc-suspect']);
  });

  it('reserves a slot on the first candidate for a usable key, and returns it with the list', async () => {
    const out = await reserve(ranking('ipv4'), key.key);
    expect(out.reservedRelayId).toBe('c-euc');
    expect(out.candidates[0]!.id).toBe('c-euc');
    expect(out.keyOpenPeers).toBe(0);
    const row = await db.db.execute("SELECT relay_id, magic_key, conn_id, closed_at FROM relay_peers WHERE peer_id = 'res-1'");
    expect(row.rows.map((r) => ({ relay_id: r.relay_id, magic_key: r.magic_key, conn_id: r.conn_id, closed_at: r.closed_at }))).toEqual([{ relay_id: 'c-euc', magic_key: key.key, conn_id: 'conn-1', closed_at: null }]);
  });

  it('outside local mode reserves only on an https:// relay', async () => {
    await db.db.execute("UPDATE relays SET internal_url = 'HTTPS://b-euw.relays.example' WHERE id = 'b-euw'");
    try {
      expect((await reserve(ranking('ipv4', true), key.key)).reservedRelayId).toBe('b-euw');
    } finally {
      await db.db.execute("UPDATE relays SET internal_url = 'http://b-euw.relays.example' WHERE id = 'b-euw'");
    }
    expect((await reserve(ranking('ipv4', true), key.key, 'res-2')).reservedRelayId).toBeNull();
  });

  it('reserves nothing for an unknown, revoked or expired key, or one whose concurrent sessions are all in use', async () => {
    expect((await reserve(ranking('ipv4'), 'np_no-such-key')).reservedRelayId).toBeNull();
    const revoked = await createMagicKey(db.db, { label: 'revoked' });
    await revokeMagicKey(db.db, revoked.key, now - 1);
    expect((await reserve(ranking('ipv4'), revoked.key)).reservedRelayId).toBeNull();
    const expired = await createMagicKey(db.db, { label: 'expired', ttlMs: 1 }, now - 10);
    expect((await reserve(ranking('ipv4'), expired.key)).reservedRelayId).toBeNull();
    const one = await createMagicKey(db.db, { label: 'one at a time', maxConcurrentSessions: 1 });
    const first = await reserve(ranking('ipv4'), one.key, 'res-first');
    expect(first.reservedRelayId).toBe('c-euc');
    const second = await reserve(ranking('ipv4'), one.key, 'res-second');
    expect(second.reservedRelayId).toBeNull();
    expect(second.keyOpenPeers).toBe(1);
    expect(Number((await db.db.execute("SELECT count(*) AS n FROM relay_peers WHERE peer_id LIKE 'res-%'")).rows[0]!.n)).toBe(1);
  });
});
