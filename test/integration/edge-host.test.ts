// DNS rebinding against the local edge (issue 18, item 4): a page at evil.test whose name was rebound to
// 127.0.0.1 is same-origin with itself, so a local edge must refuse every Host but loopback's names.
// The edge runs in workerd; requests go out with node:http, which sends the Host header a rebound browser would.
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDemoKey } from '../../shared/db/keys.js';
import { insertSurveySession } from '../../shared/db/surveys.js';
import { uuid } from '../../shared/ids.js';
import { startTestEdge, type TestEdge } from '../helpers/edge.js';
import { startTestDb, type TestDb } from '../helpers/system.js';

let db: TestDb;
let local: TestEdge;
let deployed: TestEdge;
let survey: string;

beforeAll(async () => {
  db = await startTestDb();
  local = await startTestEdge({ libsqlUrl: db.url, libsqlAuthToken: db.authToken });
  deployed = await startTestEdge({ libsqlUrl: db.url, libsqlAuthToken: db.authToken, vars: { NETPOKE_MODE: 'deployed' } });
  await ensureDemoKey(db.db, 'demo');
  survey = uuid();
  await db.db.execute(insertSurveySession({ session_id: survey, magic_key: 'demo', user_login: null, now: Date.now() }));
}, 60_000);

afterAll(async () => {
  await local?.close();
  await deployed?.close();
  await db?.close();
});

/** One request to `edge` with the given Host header (and Origin, as the page at that name sends it); status and JSON body. */
function send(edge: TestEdge, host: string, method: string, path: string, body?: unknown): Promise<{ status: number; json: { error?: { code: string; message: string } } | null }> {
  const url = new URL(edge.url);
  const data = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        method,
        path,
        headers: {
          host,
          origin: `http://${host}`,
          authorization: 'MagicKey demo',
          ...(data ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } : {}),
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, json: text.startsWith('{') ? (JSON.parse(text) as { error?: { code: string; message: string } }) : null }));
      },
    );
    req.once('error', reject);
    req.end(data);
  });
}

const announcement = () => ({ survey_session_id: survey, kind: 'sensors', size_bytes: 100, sha256: 'a'.repeat(64), mime: 'application/x-ndjson' });
const recordings = async () => Number((await db.db.execute({ sql: 'SELECT count(*) AS n FROM recordings WHERE session_id = ?', args: [survey] })).rows[0]!.n);

describe('the Host a local edge answers', () => {
  it('refuses Host evil.test:8787 with 403 forbidden and words, for a write (nothing created) and a read alike', async () => {
    const write = await send(local, 'evil.test:8787', 'POST', '/api/recordings', announcement());
    expect(write.status).toBe(403);
    expect(write.json?.error?.code).toBe('forbidden');
    expect(write.json?.error?.message).toMatch(/^Host: .*127\.0\.0\.1/);
    expect(await recordings()).toBe(0);
    for (const path of ['/health', '/api/ice-servers', '/console']) {
      const read = await send(local, 'evil.test:8787', 'GET', path);
      expect([path, read.status, read.json?.error?.code]).toEqual([path, 403, 'forbidden']);
    }
    // A name that merely starts like loopback is not loopback.
    expect((await send(local, '127.0.0.1.evil.test:8787', 'GET', '/health')).status).toBe(403);
    expect((await send(local, 'localhost.evil.test', 'GET', '/health')).status).toBe(403);
  });

  it('answers 127.0.0.1, localhost and [::1] on any port: the same write goes through', async () => {
    const port = new URL(local.url).port;
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, 'localhost']) {
      expect([host, (await send(local, host, 'GET', '/health')).status]).toEqual([host, 200]);
    }
    const write = await send(local, `127.0.0.1:${port}`, 'POST', '/api/recordings', announcement());
    expect(write.status).toBe(200);
    expect(await recordings()).toBe(1);
  });

  it('a deployed edge is not held to loopback names (its Host is its public name)', async () => {
    expect((await send(deployed, 'netpoke.example.org', 'GET', '/health')).status).toBe(200);
  });
});
