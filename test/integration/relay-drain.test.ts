// Graceful drain (SIGTERM's entry point, and POST /internal/drain): the relay is marked draining, the edge stops
// choosing it, running surveys go on until they stop by themselves, and those still running at the bound are told.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runProbe } from '../../cli/run-probe.js';
import { edgeSignal, type Signal } from '../../client/signaling.js';
import type { SurveyEvent } from '../../client/survey-client.js';
import { createMagicKey } from '../../shared/db/keys.js';
import type { RelayHandle } from '../../relay/relay.js';
import { makeOffer, startTestEdge, type TestEdge } from '../helpers/edge.js';
import { directSignal, eventually, metricRows, relayToken, testKeyId, startTestDb, startTestRelay, type TestDb } from '../helpers/system.js';

let db: TestDb;
let edge: TestEdge;
let key: string;
const relays: RelayHandle[] = [];

beforeAll(async () => {
  db = await startTestDb();
  edge = await startTestEdge({ libsqlUrl: db.url, libsqlAuthToken: db.authToken });
  key = (await createMagicKey(db.db, { label: 'drain', ttlMs: 3_600_000 })).key;
});

// Each test's relays stop after it (close() is idempotent: a drained relay is closed already).
afterEach(async () => {
  for (const r of relays.splice(0)) await r.close();
});

afterAll(async () => {
  await edge?.close();
  await db?.close();
});

async function relay(overrides: Parameters<typeof startTestRelay>[1] = {}): Promise<RelayHandle> {
  const r = await startTestRelay(db, overrides);
  relays.push(r);
  return r;
}

async function relayState(relayId: string): Promise<string | undefined> {
  const rs = await db.db.execute({ sql: 'SELECT state FROM relays WHERE id = ?', args: [relayId] });
  return rs.rows[0]?.state as string | undefined;
}

async function surveyEnd(surveyId: string): Promise<{ end_reason: unknown; end_time: unknown } | undefined> {
  const rs = await db.db.execute({ sql: 'SELECT end_reason, end_time FROM survey_sessions WHERE session_id = ?', args: [surveyId] });
  return rs.rows[0] as unknown as { end_reason: unknown; end_time: unknown } | undefined;
}

/** Edge signaling that notes which relay answered. */
function noting(into: string[]): Signal {
  const inner = edgeSignal(edge.url, key);
  return async (offer) => {
    const answer = await inner(offer);
    into.push(answer.relay_id);
    return answer;
  };
}

/** Resolves with `run`'s first stats event (the survey is measuring). */
function firstStats(onEvent: (e: SurveyEvent) => void): { onEvent: (e: SurveyEvent) => void; measuring: Promise<void> } {
  let seen: () => void = () => undefined;
  const measuring = new Promise<void>((resolve) => (seen = resolve));
  return {
    measuring,
    onEvent: (e) => {
      onEvent(e);
      if (e.type === 'stats') seen();
    },
  };
}

describe('graceful drain', () => {
  it('a survey on relay A survives A’s drain until it stops on its own, while new clients go to relay B; A refuses new peers in words and closes when empty', async () => {
    const a = await relay();
    const answeredBy: string[] = [];
    const watch = firstStats(() => undefined);
    const running = runProbe({ url: edge.url, key, durationMs: 5_000, signal: noting(answeredBy), onEvent: watch.onEvent });
    await watch.measuring;
    expect(answeredBy).toEqual([a.relayId]);

    // What SIGTERM does.
    const drainAt = Date.now();
    let closed = false;
    const drained = a.drain().then(() => (closed = true));
    expect(a.draining()).toBe(true);
    await eventually(async () => (await relayState(a.relayId)) === 'draining', 3_000, 50);

    // A takes no new peer, and says why.
    const peer = await fetch(`${a.url}/internal/peers`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await relayToken(a, { op: 'create', peer_id: 'p-after-drain', key_id: await testKeyId(key) })}`, 'content-type': 'application/json' },
      body: JSON.stringify({ sdp: await makeOffer(), type: 'offer' }),
    });
    expect(peer.status).toBe(503);
    const refusal = (await peer.json()) as { error: { code: string; message: string } };
    expect(refusal.error.code).toBe('unavailable');
    expect(refusal.error.message).toMatch(/draining/);

    // The edge does not choose A, though its heartbeat is fresh: with A alone, no relay; once B is up, B.
    const alone = await edge.post('/api/signaling/start', { sdp: await makeOffer(), type: 'offer', magic_key: key });
    expect(alone.status).toBe(503);
    expect(((await alone.json()) as { error: { code: string } }).error.code).toBe('no_relay');
    const b = await relay();
    const second = await runProbe({ url: edge.url, key, durationMs: 1_500, signal: noting(answeredBy) });
    expect(second.stoppedBy).toBe('duration');
    expect(answeredBy).toEqual([a.relayId, b.relayId]);

    // The survey on A went on through all of this and stopped when it chose to.
    const first = await running;
    expect(first.stoppedBy).toBe('duration');
    const rows = await metricRows(db.db, first.surveySessionId);
    const after = rows.filter((r) => r.source === 'server' && Number(r.timestamp_ms) > drainAt);
    expect(after.length).toBeGreaterThanOrEqual(3);
    await eventually(async () => (await surveyEnd(first.surveySessionId))?.end_reason === 'stopped');

    // No peer left: A closes (the process would exit), well before its 15 min bound.
    await drained;
    expect(closed).toBe(true);
    expect(a.activePeers()).toBe(0);
    expect(Date.now() - drainAt).toBeLessThan(15_000);
  });

  it('a rolling restart of two relays under load ends no survey: each drains while its surveys finish, new ones go to the other, and the restarted relay takes clients again', async () => {
    const ids = { a: `roll-a-${Date.now()}`, b: `roll-b-${Date.now()}` };
    let a = await relay({ relayId: ids.a });
    let b = await relay({ relayId: ids.b });
    const answeredBy: string[] = [];
    const surveys: Promise<Awaited<ReturnType<typeof runProbe>>>[] = [];
    /** Starts a 3 s survey through the edge and resolves once it measures. */
    const client = async () => {
      const watch = firstStats(() => undefined);
      surveys.push(runProbe({ url: edge.url, key, durationMs: 3_000, signal: noting(answeredBy), onEvent: watch.onEvent }));
      await watch.measuring;
    };
    for (let i = 0; i < 4; i++) await client();
    expect(new Set(answeredBy)).toEqual(new Set([ids.a, ids.b]));

    // Restart A: drain, new clients meanwhile, a new process under the same id once the old one is gone.
    const aDrained = a.drain();
    const mark = answeredBy.length;
    await client();
    await client();
    await aDrained;
    a = await relay({ relayId: ids.a });
    // Then B, the same way.
    const bDrained = b.drain();
    await client();
    await client();
    await bDrained;
    b = await relay({ relayId: ids.b });
    await client();

    const results = await Promise.all(surveys);
    expect(results.map((r) => r.stoppedBy)).toEqual(Array(results.length).fill('duration'));
    for (const r of results) await eventually(async () => (await surveyEnd(r.surveySessionId))?.end_reason === 'stopped');
    // While A drained, B took every client; while B drained, the new A did.
    expect(answeredBy.slice(mark, mark + 2)).toEqual([ids.b, ids.b]);
    expect(answeredBy.slice(mark + 2, mark + 4)).toEqual([ids.a, ids.a]);
    expect(await relayState(ids.a)).toBe('ready');
    expect(await relayState(ids.b)).toBe('ready');
  });

  it('at the bound, a survey still running is told in words (error relay_shutdown) and ends relay_shutdown; POST /internal/drain starts it and GET /ready says draining', async () => {
    const c = await relay({ drainMs: 1_500 });
    const errors: { code: string; message: string }[] = [];
    const watch = firstStats((e) => {
      if (e.type === 'error') errors.push({ code: e.code, message: e.message });
    });
    const running = runProbe({ url: '', key, durationMs: 30_000, signal: directSignal(c, { magicKey: key }), onEvent: watch.onEvent });
    await watch.measuring;

    // Only a drain token starts it.
    const post = async (op: 'drain' | 'load') => fetch(`${c.url}/internal/drain`, { method: 'POST', headers: { authorization: `Bearer ${await relayToken(c, { op })}` } });
    expect((await post('load')).status).toBe(401);
    expect(c.draining()).toBe(false);
    expect((await fetch(`${c.url}/ready`)).status).toBe(200);
    const drainAt = Date.now();
    const resp = await post('drain');
    expect(resp.status).toBe(202);
    expect(await resp.json()).toEqual({ relay_id: c.relayId, state: 'draining' });
    expect(c.draining()).toBe(true);
    // GET /ready says so from the drain's start, while the survey still runs (not only once the relay closes).
    const ready = await fetch(`${c.url}/ready`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ ready: false, reason: 'draining' });

    const result = await running;
    const endedAfter = Date.now() - drainAt;
    expect(result.stoppedBy).toBe('error');
    expect(endedAfter).toBeGreaterThanOrEqual(1_400);
    expect(endedAfter).toBeLessThan(6_000);
    const told = errors.find((e) => e.code === 'relay_shutdown');
    expect(told?.message).toMatch(/shutting down/);
    await eventually(async () => (await surveyEnd(result.surveySessionId))?.end_reason === 'relay_shutdown');
    // Rows kept coming until the bound.
    const rows = await metricRows(db.db, result.surveySessionId);
    expect(rows.filter((r) => r.source === 'server' && Number(r.timestamp_ms) > drainAt + 500).length).toBeGreaterThanOrEqual(1);
    await c.drain();
    expect(c.activePeers()).toBe(0);
  });
});
