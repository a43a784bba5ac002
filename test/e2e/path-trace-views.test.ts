// The path trace in headless Chromium: the page shows the hop table beside the summary while measuring, and the
// console's survey detail shows the stored one. On loopback the client is one hop away and never answers the
// relay's probes (its WebRTC stack holds the port); the MTU is the largest probed (1500 bytes).
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_PATH_TRACE_CONFIG } from '../../relay/path-trace/path-tracer.js';
import { hashPassword } from '../../shared/auth/password.js';
import { createMagicKey, type MagicKey } from '../../shared/db/keys.js';
import { createUser } from '../../shared/db/users.js';
import { eventually } from '../helpers/system.js';
import { ARTIFACTS, submitLogin, useBrowserStack } from '../helpers/use-browser-stack.js';

const ADMIN = 'path-admin';
const PASSWORD = 'path-admin-pass-0123456789';

const stack = useBrowserStack({
  relayOverrides: { pathTrace: { ...DEFAULT_PATH_TRACE_CONFIG, nameTimeoutMs: 0, settings: { probesPerHop: 2, maxHops: 3, probeTimeoutS: 1, probeSize: 64 } } },
});
let key: MagicKey;

beforeAll(async () => {
  key = await createMagicKey(stack.db.db, { label: 'Path' });
  await createUser(stack.db.db, { login: ADMIN, role: 'admin', passwordHash: await hashPassword(PASSWORD) });
});


describe('path trace views', () => {
  it('the page shows the hop table beside the summary; the console’s survey detail shows the stored trace', async () => {
    const context = await stack.browser.newContext({ viewport: { width: 1200, height: 1600 } });
    const page = await context.newPage();
    page.on('pageerror', (e) => {
      throw e;
    });
    await page.goto(`${stack.edge.url}/?key=${key.key}`);
    await page.click('#start');
    await page.waitForSelector('#path table.hops tbody tr', { timeout: 30_000 });
    const caption = await page.locator('#path table.hops caption').textContent();
    expect(caption).toMatch(/^Connection 1, .* — path MTU 1500$/);
    const cells = await page.locator('#path table.hops tbody tr[data-ttl="1"] td').allTextContents();
    expect(cells).toEqual(['1', '*', '–', '100.0 %']);
    // On request: a second trace of the connection; a third at once is refused in words, and the survey goes on.
    const traceCount = async () => Number((await stack.db.db.execute('SELECT COUNT(*) AS n FROM survey_path_traces WHERE available = 1')).rows[0]!.n);
    await eventually(async () => (await traceCount()) >= 1);
    await page.click('#path-again');
    await eventually(async () => (await traceCount()) >= 2, 15_000);
    await page.click('#path-again');
    await page.waitForFunction(() => document.querySelector('#path-note')?.textContent?.includes('try again in a few seconds'), null, { timeout: 10_000 });
    expect(await page.locator('#status').textContent()).toMatch(/^Measuring/);
    await page.screenshot({ path: `${ARTIFACTS}/page-path-trace.png`, fullPage: true });
    await page.click('#stop');
    await page.waitForFunction(() => document.querySelector('#status')?.textContent?.startsWith('Stopped'), null, { timeout: 30_000 });

    const surveyId = await eventually(async () => {
      const rs = await stack.db.db.execute({ sql: 'SELECT session_id FROM survey_path_traces WHERE available = 1 LIMIT 1', args: [] });
      return rs.rows[0] ? String(rs.rows[0].session_id) : null;
    });
    const console = await context.newPage();
    await console.goto(`${stack.edge.url}/console`);
    await submitLogin(console, ADMIN, PASSWORD);
    await console.waitForSelector('#survey-list, nav', { timeout: 15_000 });
    await console.goto(`${stack.edge.url}/console/surveys/${surveyId}`);
    await console.waitForSelector('#survey-path table.hops tbody tr', { timeout: 15_000 });
    expect(await console.locator('#survey-path table.hops caption').first().textContent()).toMatch(/— path MTU 1500$/);
    expect(await console.locator('#survey-path table.hops tbody tr[data-ttl="1"] td').allTextContents()).toEqual(['1', '*', '–', '100.0 %']);
    await console.screenshot({ path: `${ARTIFACTS}/console-path-trace.png`, fullPage: true });
    await context.close();
  }, 120_000);
});
