import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeRelayPeer, countOpenPeers, openRelayPeer, upsertRelay } from '../../shared/db/relays.js';
import { startTestDb, type TestDb } from '../helpers/system.js';

let t: TestDb;
beforeAll(async () => {
  t = await startTestDb();
  await upsertRelay(t.db, { id: 'r1', region: 'local', public_address: '127.0.0.1:1', internal_url: 'http://127.0.0.1:2', capacity: 10, active_sessions: 0, last_heartbeat: Date.now(), started_at: Date.now() });
});
afterAll(() => t?.close());

const peer = (id: string) => ({ peer_id: id, relay_id: 'r1', magic_key: 'k', conn_id: `c-${id}` });

describe('relay_peers bookkeeping', () => {
  it('counts open peers of a key on live relays', async () => {
    await openRelayPeer(t.db, peer('a'));
    await openRelayPeer(t.db, peer('b'));
    expect(await countOpenPeers(t.db, 'k', Date.now() - 10_000)).toBe(2);
    await closeRelayPeer(t.db, peer('a'));
    expect(await countOpenPeers(t.db, 'k', Date.now() - 10_000)).toBe(1);
    // A relay whose heartbeat is stale does not count.
    expect(await countOpenPeers(t.db, 'k', Date.now() + 10_000)).toBe(0);
  });

  it('keeps a peer closed when its close lands before its open', async () => {
    await closeRelayPeer(t.db, peer('late'));
    await openRelayPeer(t.db, peer('late'));
    const rs = await t.db.execute({ sql: 'SELECT closed_at FROM relay_peers WHERE peer_id = ?', args: ['late'] });
    expect(rs.rows[0]!.closed_at).not.toBeNull();
    expect(await countOpenPeers(t.db, 'k', Date.now() - 10_000)).toBe(1);
  });
});
