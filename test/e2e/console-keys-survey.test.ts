// From the console to a survey, in Chromium with real parts (edge in workerd, a real relay, real libSQL): the
// admin logs in, creates a key, sees its QR code and share link; the link opened in a second browser context
// (a technician with no account) runs a short survey recorded under that key with no user_login; a logged-in
// analyst's survey from the page carries their login.
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPage } from '../../page/build.js';
import { hashPassword } from '../../shared/auth/password.js';
import { createUser } from '../../shared/db/users.js';
import type { RelayHandle } from '../../relay/relay.js';
import { CHROMIUM, CHROMIUM_ARGS } from '../helpers/chromium-args.js';
import { startTestEdge, type TestEdge } from '../helpers/edge.js';
import { eventually, startTestDb, startTestRelay, type TestDb } from '../helpers/system.js';

const ARTIFACTS = resolve(import.meta.dirname, '../../test-artifacts');
const PASSWORD = 'keys-survey-pass-0123';

let db: TestDb;
let relay: RelayHandle;
let edge: TestEdge;
let browser: Browser;

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  await buildPage();
  db = await startTestDb();
  relay = await startTestRelay(db);
  edge = await startTestEdge({ libsqlUrl: db.url, libsqlAuthToken: db.authToken });
  await createUser(db.db, { login: 'boss', role: 'admin', passwordHash: await hashPassword(PASSWORD) });
  await createUser(db.db, { login: 'ana', role: 'analyst', passwordHash: await hashPassword(PASSWORD) });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await relay?.close();
  await edge?.close();
  await db?.close();
});

async function logIn(page: Page, login: string, path = '/console/keys'): Promise<void> {
  await page.goto(`${edge.url}${path}`);
  await page.waitForSelector('#login-form');
  await page.fill('#login', login);
  await page.fill('#password', PASSWORD);
  await page.click('#login-submit');
}

/** Runs a ~3 s survey on the measurement page already open in `page`; answers its survey id. */
async function surveyOnPage(page: Page): Promise<string> {
  await page.click('#start');
  await page.waitForFunction(() => document.querySelector('#status')?.textContent?.startsWith('Measuring'), null, { timeout: 20_000 });
  const id = ((await page.locator('#session').textContent()) ?? '').replace('Survey ', '');
  await page.waitForFunction(() => Number(document.querySelector('td[data-metric="probe_count"][data-dir="s2c"][data-window="60s"]')?.textContent) >= 200, null, { timeout: 20_000 });
  await page.click('#stop');
  await page.waitForFunction(() => document.querySelector('#status')?.textContent?.startsWith('Stopped'), null, { timeout: 15_000 });
  return id;
}

describe('from a new key to a survey', () => {
  it('the admin creates a key with a QR code; its link runs a survey in another browser, recorded under that key', async () => {
    const admin = await browser.newContext({ viewport: { width: 1100, height: 1200 } });
    const page = await admin.newPage();
    await logIn(page, 'boss');
    await page.waitForSelector('#create-key-form');
    await page.fill('#key-label', 'Ground floor');
    await page.click('#create-key');
    await page.waitForSelector('#share-link');
    const link = (await page.locator('#share-link').textContent())!.trim();
    expect(link).toMatch(new RegExp(`^${edge.url}/\\?key=np_[A-Za-z0-9_-]{43}$`));
    expect(await page.locator('#qr svg rect').count()).toBeGreaterThan(100);
    await page.screenshot({ path: join(ARTIFACTS, 'console-new-key.png'), fullPage: true });
    const keyText = decodeURIComponent(new URL(link).searchParams.get('key')!);

    // A technician: another browser context, no account, only the link.
    const tech = await browser.newContext({ viewport: { width: 390, height: 844 } });
    const techPage = await tech.newPage();
    await techPage.goto(link);
    expect(await techPage.inputValue('#key')).toBe(keyText);
    const surveyId = await surveyOnPage(techPage);
    const row = await eventually(async () => (await db.db.execute({ sql: 'SELECT magic_key, user_login FROM survey_sessions WHERE session_id = ?', args: [surveyId] })).rows[0]);
    expect(row).toMatchObject({ magic_key: keyText, user_login: null });
    const keyRow = (await db.db.execute({ sql: 'SELECT label, created_by FROM magic_keys WHERE key = ?', args: [keyText] })).rows[0];
    expect(keyRow).toMatchObject({ label: 'Ground floor', created_by: 'boss' });

    // The key's survey count in the console moves to 1.
    await page.reload();
    const card = page.locator(`li[data-status="active"]`, { hasText: 'Ground floor' });
    await eventually(async () => (await card.locator('[data-testid="survey-count"]').textContent())?.includes('1') ?? false);
    await tech.close();
    await admin.close();
  }, 120_000);

  it('an analyst logged in on the same site who runs a survey from the page is recorded as its technician', async () => {
    const context = await browser.newContext({ viewport: { width: 1100, height: 1200 } });
    const page = await context.newPage();
    await logIn(page, 'ana');
    await page.waitForSelector('#create-key-form');
    await page.fill('#key-label', 'Ana hands out');
    await page.click('#create-key');
    await page.waitForSelector('#share-link');
    const link = (await page.locator('#share-link').textContent())!.trim();
    // Same browser, so the session cookie goes with the page's signaling.
    await page.goto(link);
    const surveyId = await surveyOnPage(page);
    const row = await eventually(async () => (await db.db.execute({ sql: 'SELECT user_login FROM survey_sessions WHERE session_id = ?', args: [surveyId] })).rows[0]);
    expect(row).toMatchObject({ user_login: 'ana' });
    // And the analyst sees it in the console, as theirs.
    await page.goto(`${edge.url}/console`);
    await page.waitForSelector(`#survey-rows tr[data-survey="${surveyId}"]`);
    expect(await page.locator(`#survey-rows tr[data-survey="${surveyId}"]`).textContent()).toContain('ana');
    await context.close();
  }, 120_000);
});
