// OpenID Connect sign-in at the edge (workerd) against a real OpenID provider (oidc-provider), driven by Chromium, with the real database:
// who may sign in as which login, and linking a sign-in to one's own login from the Account page.
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../shared/auth/password.js';
import { buildPage } from '../../page/build.js';
import { bindIdentity, createUser } from '../../shared/db/users.js';
import { sha256Hex } from '../../shared/signing.js';
import { CHROMIUM, CHROMIUM_ARGS } from '../helpers/chromium-args.js';
import { startTestEdge, type TestEdge } from '../helpers/edge.js';
import { listenOidcProvider, type TestOidcProvider } from '../helpers/oidc-provider.js';
import { startTestDb, type TestDb } from '../helpers/system.js';
import { submitLogin } from '../helpers/use-browser-stack.js';

let db: TestDb;
let op: TestOidcProvider;
let edge: TestEdge;
let browser: Browser;

beforeAll(async () => {
  // The Account page (linking a sign-in) is part of these tests.
  await buildPage();
  db = await startTestDb();
  // The provider's port first: its issuer URL goes into the edge's config, and the edge's callback URL into the provider's client.
  op = await listenOidcProvider();
  edge = await startTestEdge({
    libsqlUrl: db.url,
    libsqlAuthToken: db.authToken,
    vars: {
      OIDC_PROVIDERS: JSON.stringify([{ id: 'test', name: 'Test IdP', issuer: op.issuer, client_id: op.clientId }]),
      OIDC_SECRET_TEST: op.clientSecret,
      OIDC_ALLOWED_DOMAINS: 'allowed.example, other.example',
    },
  });
  await op.start(`${edge.url}/api/auth/oidc/callback`);
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await edge?.close();
  await op?.close();
  await db?.close();
});

const START = '/api/auth/oidc/start?provider=test&return_to=/console';

/** A fresh browser whose requests stay on loopback (the provider's dev page imports a web font). */
async function newContext(): Promise<BrowserContext> {
  const context = await browser.newContext();
  await context.route((url) => url.hostname !== '127.0.0.1', (route) => route.abort());
  return context;
}

/** Starts a sign-in at the edge and goes through the provider's login (as `login`, any password) and consent pages. */
async function throughProvider(page: Page, login: string): Promise<void> {
  await page.goto(`${edge.url}${START}`);
  await providerPages(page, login);
}

/** The provider's login (as `login`, any password) and consent pages, once the browser is at the provider. */
async function providerPages(page: Page, login: string): Promise<void> {
  await page.waitForURL((u) => u.origin === op.issuer);
  await page.fill('input[name=login]', login);
  await page.fill('input[name=password]', 'whatever');
  await page.click('button[type=submit]');
  await page.click('button:has-text("Continue")');
}

/** Signs in through the browser and waits until it has left the edge's /api/auth routes; answers the page and the callback URL it went through. */
async function signIn(login: string): Promise<{ context: BrowserContext; page: Page; callback: string }> {
  const context = await newContext();
  const page = await context.newPage();
  let callback = '';
  page.on('request', (r) => {
    if (r.url().startsWith(`${edge.url}/api/auth/oidc/callback`)) callback = r.url();
  });
  await throughProvider(page, login);
  await page.waitForURL((u) => u.origin === edge.url && !u.pathname.startsWith('/api/'));
  return { context, page, callback };
}

/**
 * Goes through the provider but holds the browser at the callback, so the
 * test can call it itself: answers the callback URL and the state cookie the
 * edge gave this browser.
 */
async function heldCallback(login: string): Promise<{ url: URL; stateCookie: string; context: BrowserContext }> {
  const context = await newContext();
  // Chromium hands a route only the first request of a redirect chain, so the consent form's POST is taken
  // over and its redirects (consent → /auth/<uid> → the callback) are followed here, up to the callback.
  const callback = new Promise<string>((resolve) =>
    context.route(`${op.issuer}/interaction/**`, async (route) => {
      if (!route.request().postData()?.includes('prompt=consent')) return route.continue();
      let location = (await route.fetch({ maxRedirects: 0 })).headers()['location'];
      while (location && !location.startsWith(`${edge.url}/`)) location = (await context.request.get(new URL(location, op.issuer).href, { maxRedirects: 0 })).headers()['location'];
      resolve(location ?? '');
      await route.fulfill({ status: 200, body: 'held by the test' });
    }),
  );
  await throughProvider(await context.newPage(), login);
  const url = new URL(await callback);
  const cookie = (await context.cookies(`${edge.url}/api/auth/oidc/callback`)).find((c) => c.name === 'np_oidc_state');
  expect(cookie?.value).toBe(url.searchParams.get('state'));
  return { url, stateCookie: `np_oidc_state=${cookie!.value}`, context };
}

/** Calls the callback as a browser navigation would, without following the redirect. */
const callCallback = (url: URL, cookie: string) =>
  fetch(url, { redirect: 'manual', headers: { accept: 'text/html', 'sec-fetch-mode': 'navigate', cookie } });

/** The login page a refused sign-in lands on, and the reason it shows. */
function expectRefusal(res: Response): string {
  expect(res.status).toBe(302);
  const to = new URL(res.headers.get('location')!, edge.url);
  expect(to.pathname).toBe('/console/login');
  expect(to.searchParams.get('error')).toBe('login_failed');
  expect(res.headers.getSetCookie().some((c) => c.startsWith('np_session='))).toBe(false);
  return to.searchParams.get('message') ?? '';
}

const me = (page: Page) => page.evaluate(async () => (await fetch('/api/auth/me')).json() as Promise<Record<string, unknown>>);
const sessionCookie = async (context: BrowserContext) => (await context.cookies(edge.url)).find((c) => c.name === 'np_session');
const row = async (sql: string, args: (string | number)[]) => (await db.db.execute({ sql, args })).rows[0] as Record<string, unknown> | undefined;

describe('OpenID Connect sign-in', () => {
  it('lists the configured providers for the login page', async () => {
    const res = await fetch(`${edge.url}/api/auth/providers`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual([{ id: 'test', name: 'Test IdP' }]);
  });

  it('starts with PKCE (S256), state and nonce, remembering only the state hash for ten minutes', async () => {
    const res = await fetch(`${edge.url}/api/auth/oidc/start?provider=test&return_to=https://evil.example/console`, { redirect: 'manual' });
    expect(res.status).toBe(302);
    const to = new URL(res.headers.get('location')!);
    expect(to.origin + to.pathname).toBe(`${op.issuer}/auth`);
    expect(Object.fromEntries(to.searchParams)).toMatchObject({
      client_id: op.clientId,
      redirect_uri: `${edge.url}/api/auth/oidc/callback`,
      response_type: 'code',
      scope: 'openid email profile',
      code_challenge_method: 'S256',
    });
    const state = to.searchParams.get('state')!;
    expect(to.searchParams.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(to.searchParams.get('nonce')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(res.headers.getSetCookie().find((c) => c.startsWith('np_oidc_state='))).toContain(`np_oidc_state=${state};`);
    const flow = await row('SELECT * FROM oidc_flows WHERE state_hash = ?', [await sha256Hex(state)]);
    expect(flow).toMatchObject({ provider: 'test', return_to: '/console', nonce: to.searchParams.get('nonce') });
    expect(Number(flow!.expires_at) - Number(flow!.created_at)).toBe(600_000);
    expect(await row('SELECT COUNT(*) AS n FROM oidc_flows WHERE state_hash = ?', [state])).toEqual({ n: 0 });
  });

  it('refuses an unknown provider and a malformed query, as JSON for scripts and as the login page for people', async () => {
    const json = await fetch(`${edge.url}/api/auth/oidc/start?provider=nope`);
    expect(json.status).toBe(401);
    expect(((await json.json()) as { error: { code: string } }).error.code).toBe('login_failed');
    const bad = await fetch(`${edge.url}/api/auth/oidc/start?provider=Bad!`);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe('invalid_request');
    const page = await fetch(`${edge.url}/api/auth/oidc/start?provider=nope`, { redirect: 'manual', headers: { accept: 'text/html' } });
    expect(expectRefusal(page)).toContain('no sign-in provider "nope"');
  });

  it('in a deployed edge, refuses a provider whose issuer is not https', async () => {
    const deployed = await startTestEdge({
      libsqlUrl: db.url,
      libsqlAuthToken: db.authToken,
      vars: { NETPOKE_MODE: 'deployed', OIDC_PROVIDERS: JSON.stringify([{ id: 'test', issuer: op.issuer, client_id: op.clientId }]), OIDC_SECRET_TEST: op.clientSecret },
    });
    try {
      const res = await fetch(`${deployed.url}${START}`, { redirect: 'manual', headers: { accept: 'text/html' } });
      expect(expectRefusal(res)).toContain('must be an https URL');
      expect(res.headers.getSetCookie()).toEqual([]);
    } finally {
      await deployed.close();
    }
  });

  it('a first sign-in of an allowed domain creates an analyst with no keys, binds the identity and lands in the console', async () => {
    const login = 'ana@allowed.example';
    const { context, page, callback } = await signIn(login);
    expect(page.url()).toBe(`${edge.url}/console`);
    expect(await me(page)).toEqual({ login, role: 'analyst', keys: [] });
    const cookie = await sessionCookie(context);
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Lax' });
    expect(await row('SELECT login, role, email, created_by, last_login_at IS NOT NULL AS logged FROM users WHERE login = ?', [login])).toEqual({
      login,
      role: 'analyst',
      email: login,
      created_by: 'oidc:test',
      logged: 1,
    });
    expect(await row('SELECT COUNT(*) AS n FROM key_grants WHERE login = ?', [login])).toEqual({ n: 0 });
    expect(await row('SELECT login, email FROM user_identities WHERE issuer = ? AND subject = ?', [op.issuer, login])).toEqual({ login, email: login });
    expect(await row("SELECT method FROM auth_sessions WHERE login = ?", [login])).toEqual({ method: 'oidc' });

    // The same callback URL a second time, in the same browser: refused, and the session already open stays.
    await page.goto(callback);
    const to = new URL(page.url());
    expect(to.pathname).toBe('/console/login');
    expect(to.searchParams.get('error')).toBe('login_failed');
    expect((await sessionCookie(context))?.value).toBe(cookie!.value);
    // A second sign-in of the same identity finds its binding.
    const again = await signIn(login);
    expect(await me(again.page)).toEqual({ login, role: 'analyst', keys: [] });
    expect(await row('SELECT COUNT(*) AS n FROM users WHERE login = ?', [login])).toEqual({ n: 1 });
    await context.close();
    await again.context.close();
  });

  it('a callback is good once: the same code and state a second time are refused, even with the state cookie', async () => {
    const { url, stateCookie, context } = await heldCallback('bo@allowed.example');
    const first = await callCallback(url, stateCookie);
    expect(first.status).toBe(302);
    expect(first.headers.get('location')).toBe('/console');
    expect(first.headers.getSetCookie().some((c) => /^np_session=[A-Za-z0-9_-]{43};/.test(c))).toBe(true);
    const second = await callCallback(url, stateCookie);
    expect(expectRefusal(second)).toContain('already used');
    // A script (no navigation) is told in JSON.
    const script = await fetch(url, { redirect: 'manual', headers: { cookie: stateCookie } });
    expect(script.status).toBe(401);
    expect(await script.json()).toEqual({ error: { code: 'login_failed', message: expect.stringContaining('already used') } });
    await context.close();
  });

  it('a tampered state is refused and consumes nothing; a callback without the browser\'s state cookie is refused', async () => {
    const { url, stateCookie, context } = await heldCallback('cy@allowed.example');
    const state = url.searchParams.get('state')!;
    const tampered = new URL(url);
    tampered.searchParams.set('state', `${state.slice(0, -1)}${state.endsWith('A') ? 'B' : 'A'}`);
    expect(expectRefusal(await callCallback(tampered, stateCookie))).toContain('not started in this browser');
    // The tampered state with a cookie to match it names no sign-in.
    expect(expectRefusal(await callCallback(tampered, `np_oidc_state=${tampered.searchParams.get('state')}`))).toContain('unknown');
    // Someone else's callback URL (login CSRF): no cookie of the flow.
    expect(expectRefusal(await callCallback(url, ''))).toContain('not started in this browser');
    expect(await row('SELECT COUNT(*) AS n FROM users WHERE login = ?', ['cy@allowed.example'])).toEqual({ n: 0 });
    // The real one still works: the refusals above took nothing.
    const real = await callCallback(url, stateCookie);
    expect(real.status).toBe(302);
    expect(real.headers.get('location')).toBe('/console');
    await context.close();
  });

  it('refuses an identity whose domain is not allowed and that no admin created', async () => {
    const { context, page } = await signIn('eve@elsewhere.example');
    const to = new URL(page.url());
    expect(to.pathname).toBe('/console/login');
    expect(to.searchParams.get('error')).toBe('login_failed');
    expect(to.searchParams.get('message')).toBe('eve@elsewhere.example has no login here; ask an admin to create your login');
    expect(await sessionCookie(context)).toBeUndefined();
    expect(await row('SELECT COUNT(*) AS n FROM users WHERE login = ?', ['eve@elsewhere.example'])).toEqual({ n: 0 });
    expect(await row('SELECT COUNT(*) AS n FROM user_identities WHERE subject = ?', ['eve@elsewhere.example'])).toEqual({ n: 0 });
    await context.close();
  });

  it('an admin\'s e-mail vouched for by the provider is refused: no identity is bound to the admin login, no session', async () => {
    const login = 'boss@elsewhere.example';
    expect(await createUser(db.db, { login, role: 'admin', createdBy: 'admin' })).toBe(true);
    const { context, page } = await signIn(login);
    const to = new URL(page.url());
    expect(to.pathname).toBe('/console/login');
    expect(to.searchParams.get('error')).toBe('login_failed');
    expect(to.searchParams.get('message')).toContain('an admin login');
    expect(await sessionCookie(context)).toBeUndefined();
    expect(await row('SELECT COUNT(*) AS n FROM user_identities WHERE login = ?', [login])).toEqual({ n: 0 });
    await context.close();
  });

  it('a login with a password is not opened on the provider\'s word either, even with an allowed domain', async () => {
    const login = 'pat@allowed.example';
    await createUser(db.db, { login, role: 'analyst', email: login, passwordHash: await hashPassword('pat password 0123') });
    const { context, page } = await signIn(login);
    expect(new URL(page.url()).searchParams.get('message')).toContain('a login with a password');
    expect(await sessionCookie(context)).toBeUndefined();
    expect(await row('SELECT COUNT(*) AS n FROM user_identities WHERE login = ?', [login])).toEqual({ n: 0 });
    await context.close();
  });

  it('a logged-in owner links a sign-in from the Account page; it then logs in to that login, admin included', async () => {
    const owner = 'owner-admin';
    const password = 'owner password 0123';
    await createUser(db.db, { login: owner, role: 'admin', email: 'owner@elsewhere.example', passwordHash: await hashPassword(password) });
    const context = await newContext();
    const page = await context.newPage();
    await page.goto(`${edge.url}/console/login?return_to=/console/account`);
    await submitLogin(page, owner, password);
    await page.click('button[data-link-provider="test"]');
    // Any identity of the provider: the owner vouches for it by linking it while logged in.
    await providerPages(page, 'owner-at-idp@elsewhere.example');
    await page.waitForURL((u) => u.origin === edge.url && u.pathname === '/console/account');
    expect(new URL(page.url()).searchParams.get('linked')).toBe('test');
    await page.waitForSelector('#link-status[data-kind="ok"]');
    expect(await row('SELECT login FROM user_identities WHERE issuer = ? AND subject = ?', [op.issuer, 'owner-at-idp@elsewhere.example'])).toEqual({ login: owner });
    // Still the same session: linking logs nobody in.
    expect(await me(page)).toMatchObject({ login: owner, role: 'admin' });
    await context.close();

    const later = await signIn('owner-at-idp@elsewhere.example');
    expect(later.page.url()).toBe(`${edge.url}/console`);
    expect(await me(later.page)).toMatchObject({ login: owner, role: 'admin' });
    await later.context.close();
  });

  it('linking needs a session and this site\'s Origin; an identity bound to another login is not moved', async () => {
    const post = (headers: Record<string, string>) =>
      fetch(`${edge.url}/api/auth/oidc/link`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ provider: 'test' }) });
    expect((await post({})).status).toBe(401);
    await createUser(db.db, { login: 'lin', role: 'analyst', passwordHash: await hashPassword('lin password 0123') });
    const login = await fetch(`${edge.url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ login: 'lin', password: 'lin password 0123' }) });
    const cookie = /np_session=[^;]+/.exec(login.headers.get('set-cookie') ?? '')![0];
    expect((await post({ cookie, origin: 'https://evil.example' })).status).toBe(403);
    const started = await post({ cookie });
    expect(started.status).toBe(200);
    const { url } = (await started.json()) as { url: string };
    expect(url.startsWith(`${op.issuer}/auth?`)).toBe(true);
    const state = new URL(url).searchParams.get('state')!;
    expect(await row('SELECT link_login, return_to FROM oidc_flows WHERE state_hash = ?', [await sha256Hex(state)])).toEqual({ link_login: 'lin', return_to: '/console/account?linked=test' });

    // An identity bound to another login: linking it to 'lin' is refused.
    await bindIdentity(db.db, op.issuer, 'taken@elsewhere.example', 'someone-else', 'taken@elsewhere.example');
    const context = await newContext();
    await context.addCookies([{ name: 'np_session', value: cookie.split('=')[1]!, url: edge.url }]);
    const page = await context.newPage();
    await page.goto(`${edge.url}/console/account`);
    await page.click('button[data-link-provider="test"]');
    await providerPages(page, 'taken@elsewhere.example');
    await page.waitForURL((u) => u.origin === edge.url && u.pathname === '/console/login');
    expect(new URL(page.url()).searchParams.get('message')).toContain('already belongs to another login');
    expect(await row('SELECT login FROM user_identities WHERE issuer = ? AND subject = ?', [op.issuer, 'taken@elsewhere.example'])).toEqual({ login: 'someone-else' });
    await context.close();
  });

  it('a user an admin created under another login with this e-mail signs in as that login; a disabled one is refused', async () => {
    const email = 'dee@elsewhere.example';
    await createUser(db.db, { login: 'dee', role: 'analyst', email, createdBy: 'admin' });
    const ok = await signIn(email);
    expect(await me(ok.page)).toEqual({ login: 'dee', role: 'analyst', keys: [] });
    await ok.context.close();

    await db.db.execute({ sql: 'UPDATE users SET disabled_at = ? WHERE login = ?', args: [Date.now(), 'dee'] });
    const { context, page } = await signIn(email);
    expect(new URL(page.url()).searchParams.get('message')).toBe('this account is disabled; ask an admin to enable it');
    expect(await sessionCookie(context)).toBeUndefined();
    await context.close();
  });
});
