// Caching and transport headers of the edge in workerd (issue 18, item 9): API answers that carry keys,
// sessions or survey data are never stored by a cache, and https answers pin the browser to https.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HSTS } from '../../edge/security.js';
import { insertSurveySession } from '../../shared/db/surveys.js';
import { startTestDb, type TestDb } from '../helpers/system.js';
import { startTestEdge, type TestEdge } from '../helpers/edge.js';
import { setUpPrincipals, type Principals } from '../helpers/principals.js';

let db: TestDb;
let edge: TestEdge;
let p: Principals;
let survey: string;

beforeAll(async () => {
  db = await startTestDb();
  edge = await startTestEdge({ libsqlUrl: db.url, libsqlAuthToken: db.authToken });
  p = await setUpPrincipals(db.db, edge.url, 'hdr');
  survey = crypto.randomUUID();
  await db.db.execute(insertSurveySession({ session_id: survey, magic_key: p.keyA.key, user_login: null, now: Date.now() }));
}, 60_000);

afterAll(async () => {
  await edge?.close();
  await db?.close();
});

/** An admin's request over http, as the local edge is reached. */
const asAdmin = (method: string, path: string, body?: unknown) =>
  fetch(`${edge.url}${path}`, {
    method,
    headers: { cookie: p.cookie.admin, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });

/** The same request as it reaches a deployed edge over https (the worker sees an https URL). */
const asAdminOverHttps = async (path: string) => {
  const resp = await edge.mf.dispatchFetch(`${edge.url.replace(/^http:/, 'https:')}${path}`, { headers: { cookie: p.cookie.admin } });
  return { status: resp.status, hsts: resp.headers.get('strict-transport-security'), cache: resp.headers.get('cache-control'), body: await resp.text() };
};

describe('API caching', () => {
  it('GET and POST /api/keys (plaintext keys) answer Cache-Control: no-store', async () => {
    const list = await asAdmin('GET', '/api/keys');
    expect(list.status).toBe(200);
    expect(JSON.stringify(await list.json())).toContain(p.keyA.key);
    expect(list.headers.get('cache-control')).toBe('no-store');
    const created = await asAdmin('POST', '/api/keys', { label: 'headers' });
    expect(created.status).toBe(201);
    expect(created.headers.get('cache-control')).toBe('no-store');
  });

  it('every API answer with personal data, and API errors, are no-store; a route\'s own caching is kept; the page is not forced', async () => {
    const paths = ['/api/users', '/api/auth/me', '/api/surveys', `/api/surveys/${survey}`, `/api/surveys/${survey}/metrics`, `/api/surveys/${survey}/series`, '/api/surveys/export', '/api/live', `/api/recordings/${crypto.randomUUID()}`, '/api/no-such-route'];
    const seen = await Promise.all(paths.map(async (path) => ({ path, cache: (await asAdmin('GET', path)).headers.get('cache-control') })));
    expect(seen).toEqual(paths.map((path) => ({ path, cache: expect.stringMatching(/(^|, )no-store$/) as unknown })));
    // The survey detail keeps the `private, no-store` its route sets.
    expect(seen.find((s) => s.path === `/api/surveys/${survey}`)?.cache).toBe('private, no-store');
    const login = await fetch(`${edge.url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ login: p.login.admin, password: p.password }) });
    expect(login.status).toBe(200);
    expect(login.headers.get('cache-control')).toBe('no-store');
    expect((await fetch(`${edge.url}/health`)).headers.get('cache-control')).toBeNull();
  });
});

describe('HSTS', () => {
  it('an https request gets Strict-Transport-Security, an http one does not', async () => {
    const https = await asAdminOverHttps('/api/keys');
    expect(https).toMatchObject({ status: 200, hsts: HSTS, cache: 'no-store' });
    expect(https.body).toContain(p.keyA.key);
    expect(HSTS).toMatch(/^max-age=\d{7,}/);
    const http = await asAdmin('GET', '/api/keys');
    expect(http.status).toBe(200);
    expect(http.headers.get('strict-transport-security')).toBeNull();
    // Errors and non-API answers over https carry it too.
    expect((await asAdminOverHttps('/api/no-such-route')).hsts).toBe(HSTS);
    expect((await asAdminOverHttps('/health')).hsts).toBe(HSTS);
  });
});
