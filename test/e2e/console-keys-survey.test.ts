// From the console to a survey, in Chromium with real parts (edge in workerd, a real relay, real libSQL): the
// admin logs in, creates a key, sees its QR code and share link; the link opened in a second browser context
// (a technician with no account) runs a short survey recorded under that key with no user_login; a logged-in
// analyst's survey from the page carries their login.
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../shared/auth/password.js';
import { createUser } from '../../shared/db/users.js';
import { eventually } from '../helpers/system.js';
import { ARTIFACTS, submitLogin, useBrowserStack } from '../helpers/use-browser-stack.js';

const PASSWORD = 'keys-survey-pass-0123';

const stack = useBrowserStack();

beforeAll(async () => {
  await createUser(stack.db.db, { login: 'boss', role: 'admin', passwordHash: await hashPassword(PASSWORD) });
  await createUser(stack.db.db, { login: 'ana', role: 'analyst', passwordHash: await hashPassword(PASSWORD) });
});

async function logIn(page: Page, login: string, path = '/console/keys'): Promise<void> {
  await page.goto(`${stack.edge.url}${path}`);
  await submitLogin(page, login, PASSWORD);
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
    const admin = await stack.browser.newContext({ viewport: { width: 1100, height: 1200 } });
    const page = await admin.newPage();
    await logIn(page, 'boss');
    await page.waitForSelector('#create-key-form');
    await page.fill('#key-label', 'Ground floor');
    await page.click('#create-key');
    await page.waitForSelector('#share-link');
    const link = (await page.locator('#share-link').textContent())!.trim();
    expect(link).toMatch(new RegExp(`^${stack.edge.url}/\\?key=np_[A-Za-z0-9_-]{43}$`));
    expect(await page.locator('#qr svg rect').count()).toBeGreaterThan(100);
    await page.screenshot({ path: join(ARTIFACTS, 'console-new-key.png'), fullPage: true });
    const keyText = decodeURIComponent(new URL(link).searchParams.get('key')!);

    // A technician: another browser context, no account, only the link.
    const tech = await stack.browser.newContext({ viewport: { width: 390, height: 844 } });
    const techPage = await tech.newPage();
    await techPage.goto(link);
    expect(await techPage.inputValue('#key')).toBe(keyText);
    const surveyId = await surveyOnPage(techPage);
    const row = await eventually(async () => (await stack.db.db.execute({ sql: 'SELECT magic_key, user_login FROM survey_sessions WHERE session_id = ?', args: [surveyId] })).rows[0]);
    expect(row).toMatchObject({ magic_key: keyText, user_login: null });
    const keyRow = (await stack.db.db.execute({ sql: 'SELECT label, created_by FROM magic_keys WHERE key = ?', args: [keyText] })).rows[0];
    expect(keyRow).toMatchObject({ label: 'Ground floor', created_by: 'boss' });

    // The key's survey count in the console moves to 1.
    await page.reload();
    const card = page.locator(`li[data-status="active"]`, { hasText: 'Ground floor' });
    await eventually(async () => (await card.locator('[data-testid="survey-count"]').textContent())?.includes('1') ?? false);
    await tech.close();
    await admin.close();
  }, 120_000);

  it('an analyst logged in on the same site who runs a survey from the page is recorded as its technician', async () => {
    const context = await stack.browser.newContext({ viewport: { width: 1100, height: 1200 } });
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
    const row = await eventually(async () => (await stack.db.db.execute({ sql: 'SELECT user_login FROM survey_sessions WHERE session_id = ?', args: [surveyId] })).rows[0]);
    expect(row).toMatchObject({ user_login: 'ana' });
    // And the analyst sees it in the console, as theirs.
    await page.goto(`${stack.edge.url}/console`);
    await page.waitForSelector(`#survey-rows tr[data-survey="${surveyId}"]`);
    expect(await page.locator(`#survey-rows tr[data-survey="${surveyId}"]`).textContent()).toContain('ana');
    await context.close();
  }, 120_000);
});
