// The survey console in headless Chromium with real parts: two headless-client surveys through the edge in
// workerd and a real relay; an analyst logs in, sees both, opens one (charts with data), compares both,
// downloads the CSV and it matches the database, deletes one (gone from list and export) and restores it;
// the live view shows a running client within 2 s and drops it when it stops.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { runProbe, type RunProbeResult } from '../../cli/run-probe.js';
import { parseCsv } from '../../shared/csv.js';
import { hashPassword } from '../../shared/auth/password.js';
import { createMagicKey, type MagicKey } from '../../shared/db/keys.js';
import { createUser, setGrants } from '../../shared/db/users.js';
import { metricRows } from '../helpers/system.js';
import { ARTIFACTS, submitLogin, useBrowserStack } from '../helpers/use-browser-stack.js';

const ANALYST = 'survey-analyst';
const PASSWORD = 'analyst-pass-0123456789';

const stack = useBrowserStack();
let key: MagicKey;
let surveys: RunProbeResult[];

beforeAll(async () => {
  key = await createMagicKey(stack.db.db, { label: 'Warehouse' });
  const other = await createMagicKey(stack.db.db, { label: 'Elsewhere' });
  await createUser(stack.db.db, { login: ANALYST, role: 'analyst', passwordHash: await hashPassword(PASSWORD) });
  await setGrants(stack.db.db, ANALYST, [key.key_id], null);
  surveys = [await runProbe({ url: stack.edge.url, key: key.key, durationMs: 3_000 }), await runProbe({ url: stack.edge.url, key: key.key, durationMs: 3_000 })];
  // A survey of a key the analyst was not granted: never shown to them.
  await runProbe({ url: stack.edge.url, key: other.key, durationMs: 1_500 });
}, 180_000);

/** Every URL the console's pages requested (none may leave the edge). */
const requested: string[] = [];

async function logIn(viewport = { width: 1200, height: 1600 }): Promise<Page> {
  const context = await stack.browser.newContext({ viewport, acceptDownloads: true });
  const page = await context.newPage();
  page.on('request', (r) => requested.push(r.url()));
  page.on('pageerror', (e) => {
    throw e;
  });
  await page.goto(`${stack.edge.url}/console`);
  await submitLogin(page, ANALYST, PASSWORD);
  await page.waitForSelector('#survey-rows tr');
  return page;
}

const listed = (page: Page) => page.locator('#survey-rows tr').evaluateAll((rows) => rows.map((r) => (r as HTMLElement).dataset.survey));

describe('survey console', () => {
  it('lists, opens, compares, exports, deletes and restores surveys', async () => {
    const page = await logIn();
    const [a, b] = surveys.map((s) => s.surveySessionId) as [string, string];
    // Newest first, only the analyst's key.
    expect(await listed(page)).toEqual([b, a]);
    await page.screenshot({ path: join(ARTIFACTS, 'console-surveys.png'), fullPage: true });

    // One survey: summary and charts with data.
    await page.click(`[data-open="${a}"]`);
    await page.waitForSelector('figure.chart[data-chart="rtt_p50"]');
    const points = await page.locator('figure.chart').evaluateAll((els) => els.map((e) => Number((e as HTMLElement).dataset.points)));
    expect(points.length).toBe(8);
    for (const n of points) expect(n).toBeGreaterThanOrEqual(2);
    expect(Number(await page.locator('table.summary td[data-metric="loss"][data-dir="s2c"]').first().textContent())).toBeGreaterThanOrEqual(0);
    expect(await page.locator('table.summary td[data-metric="rtt_p50"][data-dir="s2c"]').first().textContent()).toMatch(/^\d+\.\d\d$/);
    await page.screenshot({ path: join(ARTIFACTS, 'console-survey-detail.png'), fullPage: true });

    // Its CSV, parsed back and compared row for row with the database.
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid="export-csv"]')]);
    const [header, ...records] = parseCsv(readFileSync((await download.path())!, 'utf8'));
    const rows = await metricRows(stack.db.db, a);
    expect(records.length).toBe(rows.length);
    const byId = new Map(rows.map((r) => [String(r.id), r]));
    for (const f of records) {
      const dbRow = byId.get(f[header!.indexOf('id')]!)!;
      for (const [i, col] of header!.entries()) expect(f[i], col!).toBe(dbRow[col!] === null || dbRow[col!] === undefined ? null : String(dbRow[col!]));
    }

    // Compare both.
    await page.goto(`${stack.edge.url}/console`);
    await page.waitForSelector('#survey-rows tr');
    await page.check(`[data-select="${a}"]`);
    await page.check(`[data-select="${b}"]`);
    await page.click('#compare');
    await page.waitForSelector('#compare-summary td[data-metric="rtt_p50"][data-survey="1"]');
    expect(await page.locator('#compare-summary td[data-metric="rtt_p50"][data-survey="1"]').first().textContent()).toMatch(/\([+-]\d/);
    expect(await page.locator('#compare-charts figure.chart').count()).toBe(8);
    await page.screenshot({ path: join(ARTIFACTS, 'console-compare.png'), fullPage: true });

    // Delete one: gone from the list and from the export; restored, back in both.
    await page.goto(`${stack.edge.url}/console/surveys/${a}`);
    await page.click('#delete-survey');
    await page.waitForSelector('#restore-survey');
    await page.goto(`${stack.edge.url}/console`);
    await page.waitForSelector('#survey-rows tr');
    expect(await listed(page)).toEqual([b]);
    const exported = async () => (await page.evaluate(async (k) => (await fetch(`/api/surveys/export?key_id=${k}&format=ndjson`)).text(), key.key_id)).trim().split('\n').map((l) => (JSON.parse(l) as { session_id: string }).session_id);
    expect(new Set(await exported())).toEqual(new Set([b]));
    await page.goto(`${stack.edge.url}/console/surveys/${a}`);
    await page.click('#restore-survey');
    await page.waitForSelector('#delete-survey');
    await page.goto(`${stack.edge.url}/console`);
    await page.waitForSelector('#survey-rows tr');
    expect(await listed(page)).toEqual([b, a]);
    expect(new Set(await exported())).toEqual(new Set([a, b]));
    await page.context().close();
  }, 120_000);

  it('fits a phone: the survey list and a survey\'s page scroll only vertically, and nothing is loaded from another host', async () => {
    const page = await logIn({ width: 390, height: 844 });
    const noSideways = () => page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1);
    expect(await noSideways()).toBe(true);
    await page.click(`[data-open="${surveys[0]!.surveySessionId}"]`);
    await page.waitForSelector('figure.chart[data-chart="loss"]');
    expect(await noSideways()).toBe(true);
    await page.screenshot({ path: join(ARTIFACTS, 'console-survey-phone.png'), fullPage: true });
    expect(requested.length).toBeGreaterThan(5);
    expect(requested.filter((u) => !u.startsWith(`${stack.edge.url}/`))).toEqual([]);
    await page.context().close();
  }, 60_000);

  it('the live view shows a running client within 2 s and drops it after it stops', async () => {
    const page = await logIn();
    await page.goto(`${stack.edge.url}/console/live`);
    await page.waitForSelector('#live-updated:not(:empty)');
    const abort = new AbortController();
    let connected!: () => void;
    const measuring = new Promise<void>((r) => (connected = r));
    const run = runProbe({ url: stack.edge.url, key: key.key, durationMs: 60_000, abort: abort.signal, onEvent: (e) => void (e.type === 'stats' && connected()) });
    try {
      await measuring;
      await page.waitForSelector('#live-rows tr[data-state="connected"]', { timeout: 2_000 });
      await page.screenshot({ path: join(ARTIFACTS, 'console-live.png'), fullPage: true });
    } finally {
      abort.abort();
      await run;
    }
    await page.waitForSelector('#live-rows tr', { state: 'detached', timeout: 10_000 });
    await page.context().close();
  }, 60_000);
});
