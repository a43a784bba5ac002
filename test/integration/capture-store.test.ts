// Relays' captures in the object store, with real parts: a survey through the edge in workerd and a real
// relay; at stop the relay hands each connection's pcapng to the edge (signed), which keeps it in its local
// R2; the relay drops its copy only then; analysts download it byte-identical through the console route.
// A failed hand-off is retried, and one left over from a previous run is sent at the next start.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runProbe } from '../../cli/run-probe.js';
import { insertSurveyCapture, insertSurveySession } from '../../shared/db/surveys.js';
import { signCaptureToken } from '../../shared/capture-token.js';
import { markCaptureStored } from '../../shared/db/capture-store.js';
import { capturePath } from '../../relay/capture/save-capture.js';
import { createCaptureHandoff } from '../../relay/capture/capture-handoff.js';
import type { RelayHandle } from '../../relay/relay.js';
import { eventually, startTestDb, startTestRelay, TEST_SECRETS, type TestDb } from '../helpers/system.js';
import { startTestEdge, type TestEdge } from '../helpers/edge.js';
import { asPrincipal, setUpPrincipals, type Principals } from '../helpers/principals.js';

let db: TestDb;
let edge: TestEdge;
let p: Principals;
const relays: RelayHandle[] = [];
const servers: Server[] = [];

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

beforeAll(async () => {
  db = await startTestDb();
  edge = await startTestEdge({ libsqlUrl: db.url, libsqlAuthToken: db.authToken });
  p = await setUpPrincipals(db.db, edge.url, 'cap');
}, 60_000);

afterAll(async () => {
  for (const r of relays) await r.close();
  for (const s of servers) await new Promise<void>((r) => s.close(() => r()));
  await edge?.close();
  await db?.close();
});

const captureRow = async (surveyId: string) =>
  (await db.db.execute({ sql: 'SELECT conn_id, peer_id, path, storage_key, sha256, bytes FROM survey_captures WHERE session_id = ?', args: [surveyId] })).rows[0];

/** A stand-in for a flaky network in front of the edge: the first `failures` hand-offs get 503, the rest go through. */
async function flakyFront(failures: number): Promise<{ url: string; refused: () => number }> {
  let refused = 0;
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    if (refused < failures) {
      refused++;
      res.writeHead(503).end('try later');
      return;
    }
    const resp = await fetch(`${edge.url}${req.url}`, { method: req.method, headers: req.headers as Record<string, string>, body: Buffer.concat(chunks) });
    res.writeHead(resp.status, { 'content-type': resp.headers.get('content-type') ?? 'text/plain' }).end(Buffer.from(await resp.arrayBuffer()));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  servers.push(server);
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, refused: () => refused };
}

describe('captures in the object store', () => {
  it('a stopped survey\'s capture reaches the store, leaves the relay, and downloads byte-identical for the key\'s analyst only', async () => {
    const front = await flakyFront(2);
    const relay = await startTestRelay(db, { edgeUrl: front.url });
    relays.push(relay);
    const result = await runProbe({ url: edge.url, key: p.keyA.key, durationMs: 2_500 });
    expect(result.pcapAvailable).toBe(true);
    const row = await eventually(async () => {
      const r = await captureRow(result.surveySessionId);
      return r?.storage_key ? r : null;
    }, 20_000);
    // Two refusals first: the relay retried until the store took it.
    expect(front.refused()).toBe(2);
    expect(row.conn_id).toBe(result.connIds[0]);
    // The row lands before the relay hears the answer; the local copy goes once the hand-off is settled.
    await eventually(async () => relay.captureHandoff!.pending === 0);
    expect(existsSync(String(row.path))).toBe(false);

    const download = await asPrincipal(edge.url, p, 'analystOfKey')('GET', `/api/surveys/${result.surveySessionId}/captures/${row.conn_id}`);
    expect(download.status).toBe(200);
    expect(download.headers.get('content-type')).toBe('application/x-pcapng');
    const bytes = new Uint8Array(await download.arrayBuffer());
    expect(bytes.length).toBe(Number(row.bytes));
    // The relay hashed its file before sending; the download hashes the same.
    expect(sha(bytes)).toBe(row.sha256);
    // pcapng Section Header Block.
    expect(Buffer.from(bytes.subarray(0, 4)).readUInt32LE(0)).toBe(0x0a0d0d0a);

    expect((await asPrincipal(edge.url, p, 'analystOther')('GET', `/api/surveys/${result.surveySessionId}/captures/${row.conn_id}`)).status).toBe(404);
    expect((await asPrincipal(edge.url, p, 'anonymous')('GET', `/api/surveys/${result.surveySessionId}/captures/${row.conn_id}`)).status).toBe(401);
    expect((await asPrincipal(edge.url, p, 'admin')('GET', `/api/surveys/${result.surveySessionId}/captures/no-such-conn`)).status).toBe(404);
  }, 60_000);

  it('a capture a previous run could not hand off is sent when the relay starts again', async () => {
    const survey = crypto.randomUUID();
    await db.db.execute(insertSurveySession({ session_id: survey, magic_key: p.keyA.key, user_login: null, now: Date.now() }));
    const dataDir = join(db.dir, 'relay-restart');
    const path = capturePath(dataDir, survey, 'conn-x', 'peer-x');
    mkdirSync(join(path, '..'), { recursive: true });
    const content = new Uint8Array(Buffer.from('a leftover capture file\n'.repeat(1000)));
    writeFileSync(path, content);
    await db.db.execute(insertSurveyCapture({ session_id: survey, conn_id: 'conn-x', peer_id: 'peer-x', path, bytes: content.length, records: 3, dropped: 0, created_at: Date.now() }));
    const relay = await startTestRelay(db, { edgeUrl: edge.url, dataDir });
    relays.push(relay);
    const row = await eventually(async () => {
      const r = await captureRow(survey);
      return r?.storage_key ? r : null;
    });
    expect(row.sha256).toBe(sha(content));
    await eventually(async () => !existsSync(path));
    const download = await asPrincipal(edge.url, p, 'admin')('GET', `/api/surveys/${survey}/captures/conn-x`);
    expect(Buffer.from(await download.arrayBuffer()).equals(Buffer.from(content))).toBe(true);
  }, 30_000);

  it('the edge takes a capture only with a valid relay token naming that file and its SHA-256', async () => {
    const body = new Uint8Array(Buffer.from('pcapng bytes'));
    const claims = { relay_id: 'r1', session_id: 's1', conn_id: 'c1', peer_id: 'p1', sha256: sha(body), bytes: body.length };
    const put = async (token: string, path = '/internal/captures/s1/c1/p1', data: Uint8Array = body) =>
      fetch(`${edge.url}${path}`, { method: 'PUT', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' }, body: data as Uint8Array<ArrayBuffer> });
    // No such survey (purged, say): refused, nothing kept.
    expect((await put(await signCaptureToken(claims, TEST_SECRETS))).status).toBe(404);
    await db.db.execute(insertSurveySession({ session_id: 's1', magic_key: p.keyA.key, user_login: null, now: Date.now() }));
    expect((await put(await signCaptureToken(claims, { current: 'another-secret-0123456789' }))).status).toBe(403);
    expect((await put(await signCaptureToken(claims, TEST_SECRETS), '/internal/captures/s1/c1/OTHER')).status).toBe(403);
    const tampered = new Uint8Array(body);
    tampered[0] = 0;
    const bad = await put(await signCaptureToken(claims, TEST_SECRETS), undefined, tampered);
    expect(bad.status).toBe(422);
    expect((await db.db.execute("SELECT count(*) AS n FROM survey_captures WHERE session_id = 's1'")).rows[0]!.n).toBe(0);
    const ok = await put(await signCaptureToken(claims, TEST_SECRETS));
    expect(ok.status).toBe(200);
    const { storage_key } = (await ok.json()) as { storage_key: string };
    const obj = await (await edge.mf.getR2Bucket('RECORDINGS')).get(storage_key);
    expect(Buffer.from(await obj!.arrayBuffer()).equals(Buffer.from(body))).toBe(true);
  });
  it('a capture token is good for one upload: a replay is refused with 409 and the first object stays the one recorded', async () => {
    const survey = crypto.randomUUID();
    await db.db.execute(insertSurveySession({ session_id: survey, magic_key: p.keyA.key, user_login: null, now: Date.now() }));
    const body = new Uint8Array(Buffer.from('the one capture of this peer\n'.repeat(50)));
    const token = await signCaptureToken({ relay_id: 'r1', session_id: survey, conn_id: 'c1', peer_id: 'p1', sha256: sha(body), bytes: body.length }, TEST_SECRETS);
    const put = () =>
      fetch(`${edge.url}/internal/captures/${survey}/c1/p1`, { method: 'PUT', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' }, body: body as Uint8Array<ArrayBuffer> });
    const first = await put();
    expect(first.status).toBe(200);
    const { storage_key } = (await first.json()) as { storage_key: string };
    const bucket = await edge.mf.getR2Bucket('RECORDINGS');
    const objectsOf = async () => (await bucket.list({ prefix: `captures/${survey}/` })).objects.map((o) => o.key);

    const replay = await put();
    expect(replay.status).toBe(409);
    const refusal = (await replay.json()) as { error: { code: string; message: string } };
    expect(refusal.error.code).toBe('conflict');
    expect(refusal.error.message).toMatch(/already stored/);
    // Parallel replays: none replaces the first, none leaves an object behind.
    const racing = await Promise.all([put(), put(), put()]);
    expect(racing.map((r) => r.status)).toEqual([409, 409, 409]);
    expect((await captureRow(survey))!.storage_key).toBe(storage_key);
    expect(await objectsOf()).toEqual([storage_key]);
    expect(Buffer.from(await (await bucket.get(storage_key))!.arrayBuffer()).equals(Buffer.from(body))).toBe(true);
  });

  it('a hand-off whose answer was lost is not sent for ever: the retry gets 409, counts as delivered, and the stored object stays', async () => {
    const survey = crypto.randomUUID();
    await db.db.execute(insertSurveySession({ session_id: survey, magic_key: p.keyA.key, user_login: null, now: Date.now() }));
    const path = join(db.dir, `lost-answer-${survey}.pcapng`);
    const content = new Uint8Array(Buffer.from('a capture whose answer is lost\n'.repeat(100)));
    writeFileSync(path, content);
    // The edge stores the first attempt, but the relay hears 503 (the answer lost on the way back).
    let forwarded = 0;
    const answers: number[] = [];
    const server = createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const resp = await fetch(`${edge.url}${req.url}`, { method: req.method, headers: req.headers as Record<string, string>, body: Buffer.concat(chunks) });
      answers.push(resp.status);
      await resp.body?.cancel();
      res.writeHead(forwarded++ === 0 ? 503 : resp.status).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    servers.push(server);
    const handoff = createCaptureHandoff({ edgeUrl: `http://127.0.0.1:${(server.address() as { port: number }).port}`, relayId: 'r-lost', secrets: TEST_SECRETS, log: () => undefined, retryMs: 50 });
    try {
      handoff.add({ session_id: survey, conn_id: 'conn-y', peer_id: 'peer-y', path });
      expect(await handoff.idle(10_000)).toBe(true);
    } finally {
      handoff.stop();
    }
    expect(answers).toEqual([200, 409]);
    expect(existsSync(path)).toBe(false);
    const row = await captureRow(survey);
    expect(row!.sha256).toBe(sha(content));
    const obj = await (await edge.mf.getR2Bucket('RECORDINGS')).get(String(row!.storage_key));
    expect(Buffer.from(await obj!.arrayBuffer()).equals(Buffer.from(content))).toBe(true);
  });

  it('markCaptureStored never overwrites a stored object: the second call changes nothing and says so', async () => {
    const survey = crypto.randomUUID();
    const c = { session_id: survey, conn_id: 'c1', peer_id: 'p1', sha256: 'a'.repeat(64), bytes: 10 };
    expect(await markCaptureStored(db.db, { ...c, storage_key: 'captures/first' })).toBe(true);
    expect(await markCaptureStored(db.db, { ...c, storage_key: 'captures/second', sha256: 'b'.repeat(64) })).toBe(false);
    const row = await captureRow(survey);
    expect([row!.storage_key, row!.sha256]).toEqual(['captures/first', 'a'.repeat(64)]);
  });
});
