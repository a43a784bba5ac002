// A key's concurrent-session limit counts connections (issue 22): a survey names on its first connection how many it
// opens at once (families × paths), and the edge refuses one the key cannot hold whole, in words, before any of
// its connections is reserved — 2 families × 16 paths is 32 sessions' worth.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SurveyError } from '../../client/signaling.js';
import { runProbe } from '../../cli/run-probe.js';
import { createMagicKey } from '../../shared/db/keys.js';
import type { RelayHandle } from '../../relay/relay.js';
import { makeOffer, startTestEdge, type TestEdge } from '../helpers/edge.js';
import { startTestDb, startTestRelay, type TestDb } from '../helpers/system.js';

let db: TestDb;
let relay: RelayHandle;
let edge: TestEdge;

beforeAll(async () => {
  db = await startTestDb();
  relay = await startTestRelay(db);
  edge = await startTestEdge({ libsqlUrl: db.url, libsqlAuthToken: db.authToken });
});

afterAll(async () => {
  await relay?.close();
  await edge?.close();
  await db?.close();
});

async function openPeersOf(key: string): Promise<number> {
  const rs = await db.db.execute({ sql: 'SELECT COUNT(*) AS n FROM relay_peers WHERE magic_key = ? AND closed_at IS NULL', args: [key] });
  return Number(rs.rows[0]?.n);
}

describe('a survey wider than its key allows', () => {
  it('is refused up front with key_limit_reached in words, no reservation left behind; one that fits is admitted', async () => {
    const key = (await createMagicKey(db.db, { label: 'four at a time', maxConcurrentSessions: 4 })).key;
    const offer = await makeOffer();
    const start = (planned: number) => edge.post('/api/signaling/start', { sdp: offer, type: 'offer', magic_key: key, family: 'ipv4', path_index: 0, planned_connections: planned });

    const wide = await start(8);
    expect(wide.status).toBe(403);
    const body = (await wide.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('key_limit_reached');
    expect(body.error.message).toMatch(/opens 8 connections at once .* allows 4 concurrent connections \(0 in use\)/);
    expect(await openPeersOf(key)).toBe(0);

    // Exactly the limit fits; with that one open, 4 more do not (1 in use + 4 > 4), and the refusal says so.
    expect((await start(4)).status).toBe(200);
    expect(await openPeersOf(key)).toBe(1);
    const more = await start(4);
    expect(more.status).toBe(403);
    expect(((await more.json()) as { error: { message: string } }).error.message).toMatch(/opens 4 connections .* \(1 in use\)/);
    expect(await openPeersOf(key)).toBe(1);
  });

  it('refuses 2 families × 16 paths against the default limit before opening any connection', async () => {
    const key = (await createMagicKey(db.db, { label: 'default limit', maxConcurrentSessions: 4 })).key;
    const events: string[] = [];
    const peersBefore = relay.activePeers();
    const err = await runProbe({ url: edge.url, key, durationMs: 2_000, families: ['ipv4', 'ipv6'], paths: 16, onEvent: (e) => e.type === 'error' && events.push(e.message) }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(SurveyError);
    expect((err as SurveyError).code).toBe('key_limit_reached');
    expect((err as SurveyError).message).toMatch(/opens 32 connections at once/);
    expect(events.join(' ')).toMatch(/32 connections/);
    expect(await openPeersOf(key)).toBe(0);
    expect(relay.activePeers()).toBe(peersBefore);
  }, 60_000);
});
