// The console pages (login, keys, users) in headless Chromium against the edge in workerd and a real libSQL database.
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { encode } from 'uqr';
import { beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../shared/auth/password.js';
import { createUser, grantedKeyIds } from '../../shared/db/users.js';
import { ARTIFACTS, submitLogin, useBrowserStack } from '../helpers/use-browser-stack.js';

const ADMIN = 'console-admin';
const PASSWORD = 'console-pass-0123456789';

const stack = useBrowserStack({ relay: false });

beforeAll(async () => {
  await createUser(stack.db.db, { login: ADMIN, role: 'admin', passwordHash: await hashPassword(PASSWORD) });
});

interface Opened {
  context: BrowserContext;
  page: Page;
  /** Every URL the page asked for; CSP violations, page errors and missing files. */
  urls: string[];
  problems: string[];
}

/** A fresh browser context (no cookie) on `path` of the edge, watching what leaves it and what the CSP refuses. */
async function open(path: string, viewport = { width: 1100, height: 1300 }, mobile = false): Promise<Opened> {
  const context = await stack.browser.newContext({ viewport, isMobile: mobile, hasTouch: mobile });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: stack.edge.url });
  const page = await context.newPage();
  const urls: string[] = [];
  const problems: string[] = [];
  page.on('request', (r) => urls.push(r.url()));
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  // API refusals are part of the tests (401, 409…); a missing file of the page is not.
  page.on('response', (r) => {
    if (r.status() >= 400 && !new URL(r.url()).pathname.startsWith('/api/')) problems.push(`${r.status()} ${r.url()}`);
  });
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) problems.push(m.text());
  });
  await page.goto(`${stack.edge.url}${path}`);
  return { context, page, urls, problems };
}

/** Logs in through the form on the login page the browser is on, and waits for the console page it lands on. */
async function logIn(page: Page, login = ADMIN, password = PASSWORD): Promise<void> {
  await submitLogin(page, login, password);
  await page.waitForURL((u) => u.pathname !== '/console/login');
  await page.waitForSelector('#whoami');
}

const text = async (page: Page, selector: string) => ((await page.locator(selector).textContent()) ?? '').trim();

/** What the page itself must never do: load anything from elsewhere, or trip the CSP (inline styles or scripts). */
function expectClean(o: Opened): void {
  expect(o.urls.filter((u) => !u.startsWith(stack.edge.url))).toEqual([]);
  expect(o.problems).toEqual([]);
}

describe('console page at the edge', () => {
  it('answers every /console path with the console page, under the CSP', async () => {
    for (const path of ['/console', '/console/', '/console/login', '/console/keys', '/console/users', '/console/no-such-page']) {
      const res = await fetch(`${stack.edge.url}${path}`);
      expect(res.status, path).toBe(200);
      expect(res.headers.get('content-type'), path).toMatch(/^text\/html/);
      expect(res.headers.get('content-security-policy'), path).toContain("default-src 'self'");
      const html = await res.text();
      expect(html, path).toContain('<script type="module" src="/console.js"></script>');
    }
    for (const file of ['/console.js', '/console.css']) expect((await fetch(`${stack.edge.url}${file}`)).status, file).toBe(200);
  });
});

describe('console login', () => {
  it('a wrong password shows the login_failed words and keeps the person on the login page', async () => {
    const o = await open('/console/login');
    await submitLogin(o.page, ADMIN, 'not-the-password');
    await o.page.waitForSelector('#login-error[data-kind="error"]');
    expect(await text(o.page, '#login-error')).toBe('The login or password is wrong. Check both and try again.');
    expect(new URL(o.page.url()).pathname).toBe('/console/login');
    await o.page.screenshot({ path: join(ARTIFACTS, 'console-login-failed.png'), fullPage: true });
    expectClean(o);
    await o.context.close();
  });

  it('shows the reason a provider sign-in failed, from ?error=&message=', async () => {
    const o = await open(`/console/login?${new URLSearchParams({ error: 'login_failed', message: 'this account is disabled; ask an admin to enable it' })}`);
    await o.page.waitForSelector('#login-error[data-kind="error"]');
    expect(await text(o.page, '#login-error')).toBe(
      'Signing in did not work: this account is disabled; ask an admin to enable it. Try again, or ask an admin for an account.',
    );
    await o.context.close();
  });

  it('a page of the console without a session goes to the login page and, once logged in, back to that page', async () => {
    const o = await open('/console/keys');
    await o.page.waitForURL((u) => u.pathname === '/console/login');
    expect(new URL(o.page.url()).searchParams.get('return_to')).toBe('/console/keys');
    await logIn(o.page);
    expect(new URL(o.page.url()).pathname).toBe('/console/keys');
    expect(await text(o.page, '#whoami')).toBe(`${ADMIN} (admin)`);
    await o.page.click('#logout');
    await o.page.waitForURL((u) => u.pathname === '/console/login');
    const me = await o.page.evaluate(async () => (await fetch('/api/auth/me')).status);
    expect(me).toBe(401);
    await o.context.close();
  });
});

describe('keys page', () => {
  it('shows the default concurrency of a new key, pre-filled; a key created without touching it carries it', async () => {
    const o = await open('/console/login?return_to=/console/keys');
    const { page } = o;
    await logIn(page);
    await page.waitForSelector('label[for="key-max-sessions"]:has-text("empty: the default, 4")');
    expect(await page.inputValue('#key-max-sessions')).toBe('4');
    await page.fill('#key-label', 'Default concurrency');
    await page.click('#create-key');
    await page.waitForSelector('#share-link');
    const row = (await stack.db.db.execute({ sql: 'SELECT max_concurrent_sessions FROM magic_keys WHERE label = ?', args: ['Default concurrency'] })).rows[0]!;
    expect(row.max_concurrent_sessions).toBe(4);
    // The form, reset for the next key, shows the default again.
    expect(await page.inputValue('#key-max-sessions')).toBe('4');
    await o.context.close();
  });

  it('creates a key with limits: share link, Copy and QR code; lists it; revokes it after confirming', async () => {
    const o = await open('/console/login?return_to=/console/keys');
    const { page } = o;
    await logIn(page);
    await page.fill('#key-label', 'Third floor walk');
    await page.selectOption('#key-ttl', String(86_400));
    await page.fill('#key-max-minutes', '30');
    await page.fill('#key-max-sessions', '2');
    await page.click('#create-key');
    await page.waitForSelector('#share-link');

    const row = (await stack.db.db.execute({ sql: 'SELECT * FROM magic_keys WHERE label = ?', args: ['Third floor walk'] })).rows[0]!;
    const link = `${stack.edge.url}/?key=${encodeURIComponent(String(row.key))}`;
    expect(await text(page, '#share-link')).toBe(link);
    expect(row.created_by).toBe(ADMIN);
    expect(row.max_measuring_ms).toBe(30 * 60_000);
    expect(row.max_concurrent_sessions).toBe(2);
    expect(Number(row.expires_at) - Number(row.created_at)).toBe(86_400_000);

    // The QR code: one square per dark module of the link's code, on a white ground.
    const { data } = encode(link, { ecc: 'M', border: 2 });
    const dark = data.flat().filter(Boolean).length;
    expect(dark).toBeGreaterThan(200);
    expect(await page.locator('#qr svg rect').count()).toBe(dark + 1);
    expect(await page.locator('#qr svg').getAttribute('aria-label')).toBe('QR code of the link for Third floor walk');

    await page.click('#copy-link');
    await page.waitForSelector('#copy-status[data-kind="ok"]');
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(link);

    const keyId = String(row.key_id);
    const card = page.locator(`[data-key-id="${keyId}"]`);
    await card.waitFor();
    expect(await text(page, '#key-list-status')).toBe('');
    expect(await card.locator('[data-testid="key-status"]').textContent()).toBe('Active');
    expect(await card.locator('[data-testid="survey-count"]').textContent()).toBe('0');
    expect(await card.locator('dl').textContent()).toContain('30 min');
    // The per-key link and QR, behind a toggle.
    await card.locator('[data-testid="toggle-link"]').click();
    expect(await card.locator('[data-testid="share-link"]').textContent()).toBe(link);
    expect(await card.locator('[data-testid="qr"] svg rect').count()).toBe(dark + 1);
    await page.screenshot({ path: join(ARTIFACTS, 'console-key-created.png'), fullPage: true });

    // Revoke asks first; Cancel leaves the key alone.
    await card.locator('[data-testid="revoke"]').click();
    expect(await card.locator('[data-testid="revoke-confirm"]').isVisible()).toBe(true);
    await card.locator('[data-testid="cancel-revoke"]').click();
    expect(await card.locator('[data-testid="revoke-confirm"]').isVisible()).toBe(false);
    await card.locator('[data-testid="revoke"]').click();
    await page.screenshot({ path: join(ARTIFACTS, 'console-key-revoke-confirm.png'), fullPage: true });
    await card.locator('[data-testid="confirm-revoke"]').click();
    await page.waitForSelector(`[data-key-id="${keyId}"][data-status="revoked"]`);
    expect(await card.locator('[data-testid="key-status"]').textContent()).toBe('Revoked');
    expect(await card.locator('[data-testid="revoke"]').count()).toBe(0);
    expect(await text(page, '#key-list-status')).toBe('Key “Third floor walk” revoked.');
    const revoked = (await stack.db.db.execute({ sql: 'SELECT revoked_at FROM magic_keys WHERE key_id = ?', args: [keyId] })).rows[0]!;
    expect(Number(revoked.revoked_at)).toBeGreaterThan(Number(row.created_at));
    await page.screenshot({ path: join(ARTIFACTS, 'console-key-revoked.png'), fullPage: true });
    expectClean(o);
    await o.context.close();
  });

  it('says what is wrong with a form in words', async () => {
    const o = await open('/console/login?return_to=/console/keys');
    await logIn(o.page);
    await o.page.click('#create-key');
    expect(await text(o.page, '#create-key-status')).toBe('Give the key a label, so you know later who it was for.');
    await o.page.fill('#key-label', 'x');
    await o.page.fill('#key-max-minutes', '2.5');
    await o.page.click('#create-key');
    expect(await text(o.page, '#create-key-status')).toBe('The measuring time limit must be a whole number of minutes, or empty.');
    await o.context.close();
  });

  it('fits a 390 px phone: no sideways scrolling, thumb-sized buttons, the QR code inside the screen', async () => {
    const o = await open('/console/login?return_to=/console/keys', { width: 390, height: 844 }, true);
    const { page } = o;
    await logIn(page);
    await page.fill('#key-label', 'Phone key');
    await page.click('#create-key');
    await page.waitForSelector('#qr svg');
    const layout = await page.evaluate(() => ({
      overflow: document.documentElement.scrollWidth - 390,
      qrRight: document.querySelector('#qr svg')!.getBoundingClientRect().right,
      createHeight: document.querySelector('#create-key')!.getBoundingClientRect().height,
    }));
    expect(layout.overflow).toBeLessThanOrEqual(0);
    expect(layout.qrRight).toBeLessThanOrEqual(390);
    expect(layout.createHeight).toBeGreaterThanOrEqual(44);
    await page.screenshot({ path: join(ARTIFACTS, 'console-keys-phone.png'), fullPage: true });
    expectClean(o);
    await o.context.close();
  });
});

describe('users page', () => {
  it('an admin creates an analyst with a key, changes role and grants, resets the password and disables them', async () => {
    const o = await open('/console/login?return_to=/console/keys');
    const { page } = o;
    await logIn(page);
    await page.fill('#key-label', 'For the analyst');
    await page.click('#create-key');
    await page.waitForSelector('#share-link');
    const keyId = String((await stack.db.db.execute({ sql: 'SELECT key_id FROM magic_keys WHERE label = ?', args: ['For the analyst'] })).rows[0]!.key_id);

    await page.click('nav a[href="/console/users"]');
    await page.waitForSelector('#create-user-form');
    await page.fill('#user-login', 'ana');
    await page.click('#generate-password');
    const password = await page.inputValue('#user-password');
    expect(password).toMatch(/^[A-Za-z0-9_-]{16}$/);
    await page.check(`#user-keys input[value="${keyId}"]`);
    await page.click('#create-user');
    await page.waitForSelector('#create-user-status[data-kind="ok"]');
    expect(await text(page, '#create-user-status')).toBe(`User ana created. Give them their password privately (it is not shown again): ${password}`);
    const grants = () => grantedKeyIds(stack.db.db, 'ana');
    expect(await grants()).toEqual([keyId]);

    const card = () => page.locator('[data-login="ana"]');
    await card().waitFor();
    expect(await card().locator('dl').textContent()).toContain('For the analyst');
    // Withdraw the key; then make them an admin (who sees every key, so no key list is offered).
    await card().locator(`[data-testid="granted-keys"] input[value="${keyId}"]`).uncheck();
    await card().locator('[data-testid="save-user"]').click();
    await page.waitForSelector('[data-login="ana"] [data-testid="user-message"]:has-text("0 keys")');
    expect(await card().locator('[data-testid="user-message"]').textContent()).toBe('Saved: ana is an analyst with 0 keys.');
    expect(await grants()).toEqual([]);
    await card().locator('[data-testid="user-role"]').selectOption('admin');
    expect(await card().locator('[data-testid="granted-keys"]').isVisible()).toBe(false);
    await card().locator('[data-testid="save-user"]').click();
    await page.waitForSelector('[data-login="ana"] [data-testid="user-message"]:has-text("an admin")');
    expect(await card().locator('[data-testid="user-message"]').textContent()).toBe('Saved: ana is an admin (every key).');
    expect((await stack.db.db.execute("SELECT role FROM users WHERE login = 'ana'")).rows[0]!.role).toBe('admin');

    await card().locator('[data-testid="reset-password"]').click();
    const fresh = await card().locator('[data-testid="new-password"]').inputValue();
    await card().locator('[data-testid="set-password"]').click();
    await page.waitForSelector(`[data-login="ana"] [data-testid="user-message"]:has-text("${fresh}")`);
    expect(await card().locator('[data-testid="user-message"]').textContent()).toBe(`New password for ana (give it to them privately; it is not shown again): ${fresh}`);

    await card().locator('[data-testid="toggle-disabled"]').click();
    await page.waitForSelector('[data-login="ana"][data-disabled="true"]');
    expect(await card().locator('[data-testid="toggle-disabled"]').textContent()).toBe('Enable');
    expect((await stack.db.db.execute("SELECT disabled_at FROM users WHERE login = 'ana'")).rows[0]!.disabled_at).not.toBeNull();

    // A taken login is refused in words.
    await page.fill('#user-login', 'ana');
    await page.click('#create-user');
    await page.waitForSelector('#create-user-status[data-kind="error"]');
    expect(await text(page, '#create-user-status')).toBe('That cannot be done: login: ana is taken.');
    await page.screenshot({ path: join(ARTIFACTS, 'console-users.png'), fullPage: true });

    // The new password works (enabled again first), and an analyst does not see the Users page.
    await card().locator('[data-testid="toggle-disabled"]').click();
    await page.waitForSelector('[data-login="ana"][data-disabled="false"]');
    await card().locator('[data-testid="user-role"]').selectOption('analyst');
    await card().locator('[data-testid="save-user"]').click();
    await page.waitForSelector('[data-login="ana"] [data-testid="user-message"]:has-text("is an analyst")');
    expectClean(o);
    await o.context.close();

    const ana = await open('/console/users');
    await logIn(ana.page, 'ana', fresh);
    expect(new URL(ana.page.url()).pathname).toBe('/console/users');
    await ana.page.waitForSelector('#view >> text=Only an admin can manage users.');
    expect(await ana.page.locator('nav a[href="/console/users"]').count()).toBe(0);
    await ana.context.close();
  });
});
