// The edge's public surface against other web pages and shared addresses, with the edge in workerd,
// a real relay and real libSQL: what is refused, that a refusal creates nothing, the headers every
// response carries, and the built page running under its CSP in Chromium.
import { chromium, type Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createMagicKey } from '../../shared/db/keys.js';
import { SignalingStartResponseSchema } from '../../shared/protocol/signaling.js';
import { buildPage } from '../../page/build.js';
import { SECURITY_HEADERS } from '../../edge/security.js';
import type { RelayHandle } from '../../relay/relay.js';
import { eventually, relayToken, startTestDb, startTestRelay, type TestDb } from '../helpers/system.js';
import { makeOffer, peekClaims, startTestEdge, type TestEdge } from '../helpers/edge.js';

const FAILURE_LIMIT = 3;
const ALLOWED = 'https://surveys.example.org';

let db: TestDb;
let relay: RelayHandle;
let edge: TestEdge;
let offer: string;
let key: string;
let addressSeq = 0;
const freshAddress = () => `192.0.2.${++addressSeq}`;

async function expectError(resp: Response, status: number, code: string): Promise<void> {
  const body = (await resp.json()) as { error?: { code?: string; message?: string } };
  expect({ status: resp.status, code: body.error?.code }).toEqual({ status, code });
  expect(typeof body.error?.message).toBe('string');
}

/** Every peer row the relay ever wrote: a refused request must not add one. */
async function peerRows(): Promise<number> {
  const rs = await db.db.execute('SELECT COUNT(*) AS n FROM relay_peers');
  return Number(rs.rows[0]?.n);
}

async function openPeers(): Promise<number> {
  const rs = await db.db.execute('SELECT COUNT(*) AS n FROM relay_peers WHERE closed_at IS NULL');
  return Number(rs.rows[0]?.n);
}

/** Closes the peer an accepted offer made, the way the edge would, so each test starts with none. */
async function closeAccepted(resp: Response): Promise<void> {
  const answer = SignalingStartResponseSchema.parse(await resp.json());
  const peerId = String(peekClaims(answer.session_id).peer_id);
  const token = await relayToken(relay, { op: 'close', peer_id: peerId });
  const del = await fetch(`${relay.url}/internal/peers/${peerId}`, { method: 'DELETE', headers: { authorization: `Bearer ${token}` } });
  expect(del.status).toBe(204);
}

const startBody = (magicKey: string) => JSON.stringify({ sdp: offer, type: 'offer', magic_key: magicKey });

beforeAll(async () => {
  await buildPage();
  db = await startTestDb();
  relay = await startTestRelay(db);
  edge = await startTestEdge({ libsqlUrl: db.url, libsqlAuthToken: db.authToken, vars: { KEY_FAILURE_LIMIT: String(FAILURE_LIMIT), ALLOWED_ORIGINS: ALLOWED, TRUST_CLIENT_ADDRESS_HEADER: 'true' } });
  offer = await makeOffer();
  key = (await createMagicKey(db.db, { label: 'surface', ttlMs: 3_600_000 })).key;
});

afterAll(async () => {
  await edge?.close();
  await relay?.close();
  await db?.close();
});

afterEach(async () => {
  await eventually(async () => (await openPeers()) === 0, 5_000);
  expect(relay.activePeers()).toBe(0);
});

describe('a shared address locked by failed keys', () => {
  it('a valid key passes and gets an answer; a wrong key gets 429 and still counts', async () => {
    const address = freshAddress();
    for (let i = 0; i < FAILURE_LIMIT; i++) {
      await expectError(await edge.post('/api/signaling/start', startBody(`np_guess-${i}`), { 'cf-connecting-ip': address }), 403, 'key_invalid');
    }
    await expectError(await edge.post('/api/signaling/start', startBody('np_guess-more'), { 'cf-connecting-ip': address }), 429, 'rate_limited');

    const ok = await edge.post('/api/signaling/start', startBody(key), { 'cf-connecting-ip': address });
    expect(ok.status).toBe(200);
    await closeAccepted(ok);

    await expectError(await edge.post('/api/signaling/start', startBody('np_guess-after'), { 'cf-connecting-ip': address }), 429, 'rate_limited');
    const rs = await db.db.execute({ sql: 'SELECT count FROM key_failures WHERE address = ?', args: [address] });
    expect(Number(rs.rows[0]?.count)).toBe(FAILURE_LIMIT + 2);
  });
});

describe('requests another page could make', () => {
  it('a text/plain (or form, or untyped) POST gets 415 and creates nothing', async () => {
    const before = await peerRows();
    const types = ['text/plain', 'text/plain;charset=UTF-8', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/jsonp', ''];
    for (const type of types) {
      const resp = await fetch(`${edge.url}/api/signaling/start`, { method: 'POST', headers: { 'content-type': type, 'cf-connecting-ip': freshAddress() }, body: startBody(key) });
      await expectError(resp, 415, 'unsupported_media_type');
    }
    await expectError(await edge.post('/api/signaling/ice', { session_id: 'x', candidate: '' }, { 'content-type': 'text/plain' }), 415, 'unsupported_media_type');
    expect(relay.activePeers()).toBe(0);
    expect(await peerRows()).toBe(before);
  });

  it('a POST without a body is not judged by a type it does not have; a route that wants JSON still refuses it', async () => {
    await expectError(await fetch(`${edge.url}/api/nope`, { method: 'POST' }), 404, 'not_found');
    await expectError(await fetch(`${edge.url}/api/signaling/start`, { method: 'POST' }), 415, 'unsupported_media_type');
  });

  it('JSON with parameters is JSON', async () => {
    const resp = await edge.post('/api/signaling/start', startBody(key), { 'content-type': 'Application/JSON; charset=utf-8', 'cf-connecting-ip': freshAddress() });
    expect(resp.status).toBe(200);
    await closeAccepted(resp);
  });

  it('a foreign Origin, or Sec-Fetch-Site: cross-site, gets 403 forbidden and creates nothing', async () => {
    const before = await peerRows();
    for (const headers of [{ origin: 'https://evil.example' } as Record<string, string>, { origin: 'null' }, { origin: `${edge.url}.evil.example` }, { 'sec-fetch-site': 'cross-site' }]) {
      await expectError(await edge.post('/api/signaling/start', startBody(key), { ...headers, 'cf-connecting-ip': freshAddress() }), 403, 'forbidden');
    }
    // The classic form-less attack: cross-site and text/plain at once.
    const both = await fetch(`${edge.url}/api/signaling/start`, { method: 'POST', headers: { origin: 'https://evil.example', 'content-type': 'text/plain' }, body: startBody(key) });
    await expectError(both, 403, 'forbidden');
    expect(relay.activePeers()).toBe(0);
    expect(await peerRows()).toBe(before);
  });

  it('its own origin, an ALLOWED_ORIGINS one, and no Origin at all (curl, the headless client) pass', async () => {
    for (const headers of [{ origin: edge.url, 'sec-fetch-site': 'same-origin' } as Record<string, string>, { origin: ALLOWED, 'sec-fetch-site': 'cross-site' }, {}]) {
      const resp = await edge.post('/api/signaling/start', startBody(key), { ...headers, 'cf-connecting-ip': freshAddress() });
      expect({ headers, status: resp.status }).toEqual({ headers, status: 200 });
      await closeAccepted(resp);
    }
  });

  it('reads are not Origin-checked (a page may link here)', async () => {
    const page = await fetch(`${edge.url}/health`, { headers: { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' } });
    expect(page.status).toBe(200);
  });
});

describe('security headers', () => {
  const expectSecurityHeaders = (resp: Response) => {
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) expect({ name, value: resp.headers.get(name) }).toEqual({ name, value });
  };

  it('the page, its script and stylesheet, the API and its errors all carry them', async () => {
    const page = await fetch(`${edge.url}/?key=${key}`);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('<script type="module" src="/app.js">');
    expectSecurityHeaders(page);
    for (const [path, type] of [['/app.js', 'javascript'], ['/app.css', 'text/css']] as const) {
      const resp = await fetch(`${edge.url}${path}`);
      expect(resp.status).toBe(200);
      expect(resp.headers.get('content-type')).toContain(type);
      expectSecurityHeaders(resp);
      await resp.arrayBuffer();
    }
    const health = await fetch(`${edge.url}/health`);
    expect(await health.json()).toEqual({ ok: true });
    expectSecurityHeaders(health);
    const missing = await fetch(`${edge.url}/no-such-file.js`);
    await expectError(missing.clone(), 404, 'not_found');
    expectSecurityHeaders(missing);
    const refused = await edge.post('/api/signaling/start', startBody(key), { 'content-type': 'text/plain' });
    expectSecurityHeaders(refused);
    await expectError(refused, 415, 'unsupported_media_type');
  });

  it('the built page runs under that CSP in Chromium: no violation, the key read and dropped from the address bar', async () => {
    const browser: Browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu'] });
    try {
      const page = await browser.newPage();
      await page.addInitScript(() => {
        const seen: string[] = [];
        (window as unknown as { cspViolations: string[] }).cspViolations = seen;
        document.addEventListener('securitypolicyviolation', (e) => seen.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}:${e.columnNumber} ${e.sample}`));
      });
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      // Failed loads are judged by their responses below (the browser's own /favicon.ico probe may 404).
      page.on('console', (m) => m.type() === 'error' && !m.text().startsWith('Failed to load resource') && errors.push(m.text()));
      page.on('response', (r) => r.status() >= 400 && !r.url().endsWith('/favicon.ico') && errors.push(`${r.status()} ${r.url()}`));
      await page.goto(`${edge.url}/?key=${key}&x=1`);
      await page.waitForFunction((k) => (document.getElementById('key') as HTMLInputElement | null)?.value === k, key, { timeout: 10_000 });
      expect(new URL(page.url()).search).toBe('?x=1');
      // The stylesheet applied (the page's own rule hides [hidden] buttons or sets layout).
      const styled = await page.evaluate(() => document.styleSheets.length > 0 && document.styleSheets[0]!.cssRules.length > 0);
      expect(styled).toBe(true);
      expect(await page.evaluate(() => (window as unknown as { cspViolations: string[] }).cspViolations)).toEqual([]);
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
    }
  });
});
