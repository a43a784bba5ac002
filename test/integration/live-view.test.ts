// The console's live view with real parts: a headless client surveying through the edge in workerd and a
// real relay shows up in GET /api/live with its latest second both ways, only to those who may see its key;
// an admin ends it from there; a relay that stops heartbeating has its peers marked, then dropped.
// Also: a logged-in analyst's survey carries their user_login (the edge puts it in the relay token).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runProbe, type RunProbeResult } from '../../cli/run-probe.js';
import type { Signal } from '../../client/signaling.js';
import { createMagicKey } from '../../shared/db/keys.js';
import { SignalingStartResponseSchema } from '../../shared/protocol/signaling.js';
import type { LivePeer } from '../../shared/db/live-peers.js';
import type { RelayHandle } from '../../relay/relay.js';
import { eventually, startTestDb, startTestRelay, type TestDb } from '../helpers/system.js';
import { startTestEdge, type TestEdge } from '../helpers/edge.js';
import { asPrincipal, PRINCIPALS, setUpPrincipals, type Principals } from '../helpers/principals.js';

let db: TestDb;
let relay: RelayHandle;
let edge: TestEdge;
let p: Principals;

beforeAll(async () => {
  db = await startTestDb();
  relay = await startTestRelay(db);
  edge = await startTestEdge({ libsqlUrl: db.url, libsqlAuthToken: db.authToken });
  p = await setUpPrincipals(db.db, edge.url, 'live');
}, 60_000);

afterAll(async () => {
  await relay?.close();
  await edge?.close();
  await db?.close();
});

/** Signaling through the edge as a browser of a logged-in person would: the session cookie goes along. */
const signalWithCookie = (key: string, cookie: string): Signal => async (offer) => {
  const resp = await edge.post('/api/signaling/start', offer, { authorization: `MagicKey ${key}`, cookie });
  if (resp.status !== 200) throw new Error(`signaling: ${resp.status} ${await resp.text()}`);
  return SignalingStartResponseSchema.parse(await resp.json());
};

const live = async (who: 'admin' | 'analystOfKey' | 'analystOther') => {
  const resp = await asPrincipal(edge.url, p, who)('GET', '/api/live');
  expect(resp.status).toBe(200);
  return (await resp.json()) as LivePeer[];
};

describe('live view', () => {
  it('shows a running client with its last second both ways to the key\'s analyst and the admin only; the admin ends it', async () => {
    const abort = new AbortController();
    let firstStats = 0;
    const run: Promise<RunProbeResult> = runProbe({
      url: edge.url,
      key: p.keyA.key,
      durationMs: 60_000,
      signal: signalWithCookie(p.keyA.key, p.cookie.analystOfKey),
      abort: abort.signal,
      onEvent: (e) => void (e.type === 'stats' && !firstStats && (firstStats = Date.now())),
    });
    try {
      const peer = await eventually(async () => (await live('analystOfKey')).find((x) => x.last_stats.c2s && x.last_stats.s2c) ?? null, 15_000);
      expect(peer).toMatchObject({ relay_id: relay.relayId, key_id: p.keyA.key_id, key_label: p.keyA.label, state: 'connected' });
      expect(peer.survey_session_id).toMatch(/\S/);
      expect(peer.connected_at).toBeLessThanOrEqual(Date.now());
      for (const dir of ['c2s', 's2c'] as const) {
        const s = peer.last_stats[dir]!;
        expect(s.loss_rate).toBeGreaterThanOrEqual(0);
        expect(s.rtt_p50_ms === null || s.rtt_p50_ms >= 0).toBe(true);
        expect(typeof s.delay_p50_ms).toBe('number');
      }
      // The database holds each second within about a second of its end; "fresh within 2 s" with a second's slack for a busy CI machine.
      expect(Date.now() - Math.max(peer.last_stats.c2s!.timestamp_ms, peer.last_stats.s2c!.timestamp_ms)).toBeLessThan(3_000);
      expect((await live('admin')).map((x) => x.peer_id)).toContain(peer.peer_id);
      expect(await live('analystOther')).toEqual([]);
      for (const who of PRINCIPALS) {
        const status = (await asPrincipal(edge.url, p, who)('GET', '/api/live')).status;
        expect({ who, status }).toEqual({ who, status: { anonymous: 401, disabled: 401 }[who as 'anonymous'] ?? 200 });
      }

      // Only an admin ends a session; to an analyst that is forbidden.
      expect((await asPrincipal(edge.url, p, 'analystOfKey')('POST', `/api/live/${peer.peer_id}/end`)).status).toBe(403);
      expect((await asPrincipal(edge.url, p, 'admin')('POST', `/api/live/${peer.peer_id}/end`)).status).toBe(204);
      const ended = await run;
      expect(ended.stoppedBy).toBe('error');
      await eventually(async () => !(await live('admin')).some((x) => x.peer_id === peer.peer_id));
      expect((await asPrincipal(edge.url, p, 'admin')('POST', `/api/live/${peer.peer_id}/end`)).status).toBe(404);

      // The survey was started by a logged-in analyst: its row carries their login.
      const row = (await db.db.execute({ sql: 'SELECT user_login, magic_key FROM survey_sessions WHERE session_id = ?', args: [peer.survey_session_id] })).rows[0];
      expect(row).toMatchObject({ user_login: p.login.analystOfKey, magic_key: p.keyA.key });
    } finally {
      abort.abort();
      await run.catch(() => undefined);
    }
  }, 60_000);

  it('a survey without a login leaves user_login NULL', async () => {
    const result = await runProbe({ url: edge.url, key: p.keyB.key, durationMs: 2_000 });
    const row = (await db.db.execute({ sql: 'SELECT user_login FROM survey_sessions WHERE session_id = ?', args: [result.surveySessionId] })).rows[0];
    expect(row).toMatchObject({ user_login: null });
  }, 30_000);

  it('peers of a relay that stopped heartbeating are marked relay_lost, then leave the view', async () => {
    const key = await createMagicKey(db.db, { label: 'stale relay key' });
    const now = Date.now();
    await db.db.batch(
      [
        { sql: "INSERT INTO relays (id, region, public_address, internal_url, capacity, active_sessions, last_heartbeat, started_at) VALUES ('gone-1', 'eu', 'x:1', 'http://127.0.0.1:9', 10, 1, ?, ?)", args: [now - 20_000, now - 100_000] },
        { sql: "INSERT INTO relays (id, region, public_address, internal_url, capacity, active_sessions, last_heartbeat, started_at) VALUES ('gone-2', 'eu', 'x:2', 'http://127.0.0.1:9', 10, 1, ?, ?)", args: [now - 3_600_000, now - 4_000_000] },
        { sql: "INSERT INTO relay_peers (peer_id, relay_id, magic_key, conn_id, created_at) VALUES ('stale-peer-1', 'gone-1', ?, 'c1', ?)", args: [key.key, now - 30_000] },
        { sql: "INSERT INTO relay_peers (peer_id, relay_id, magic_key, conn_id, created_at) VALUES ('stale-peer-2', 'gone-2', ?, 'c2', ?)", args: [key.key, now - 3_700_000] },
      ],
      'write',
    );
    const view = await live('admin');
    expect(view.find((x) => x.peer_id === 'stale-peer-1')).toMatchObject({ state: 'relay_lost', relay_id: 'gone-1', last_stats: { c2s: null, s2c: null } });
    expect(view.some((x) => x.peer_id === 'stale-peer-2')).toBe(false);
    // Ending a peer whose relay is gone says so in words.
    const resp = await asPrincipal(edge.url, p, 'admin')('POST', '/api/live/stale-peer-1/end');
    expect(resp.status).toBe(502);
    expect(((await resp.json()) as { error: { message: string } }).error.message).toMatch(/gone-1/);
  });
});
