import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createClient, type Client } from '@libsql/client';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPage } from '../../page/build.js';
import { startLocalSystem, type LocalSystem } from '../helpers/npm-start.js';
import { eventually, metricRows } from '../helpers/system.js';

const ARTIFACTS = resolve(import.meta.dirname, '../../test-artifacts');
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--allow-loopback-in-peer-connection',
  // One --disable-features argument only: a second one silently replaces the first.
  '--disable-features=WebRtcHideLocalIpsWithMdns',
];

// The system exactly as the README starts it: `npm start` (database, relay, page build, wrangler dev).
let sys: LocalSystem;
let db: Client;
let browser: Browser;

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  sys = await startLocalSystem();
  db = createClient({ url: sys.dbUrl, authToken: sys.dbAuthToken });
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
});
afterAll(async () => {
  await browser?.close();
  db?.close();
  await sys?.stop();
});

/** A page that records every URL it requests, so the test can prove nothing left loopback. */
async function openPage(path: string): Promise<{ page: Page; urls: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1200, height: 1400 } });
  const urls: string[] = [];
  page.on('request', (r) => urls.push(r.url()));
  await page.goto(`${sys.url}${path}`);
  return { page, urls };
}

const cell = (page: Page, metric: string, dir: string, window = '1s') =>
  page.locator(`td[data-metric="${metric}"][data-dir="${dir}"][data-window="${window}"]`).textContent();

describe('measurement page in headless Chromium', () => {
  it('runs a survey from /?key=demo: live numbers, charts, Stop saves a capture, the database has it all', async () => {
    const { page, urls } = await openPage('/?key=demo');
    expect(await page.inputValue('#key')).toBe('demo');
    await page.click('#start');
    await page.waitForFunction(() => document.querySelector('#status')?.textContent?.startsWith('Measuring'), null, { timeout: 20_000 });
    // ~6 s of stats: the 60 s window has summed six seconds of probes in both directions.
    await page.waitForFunction(
      () => Number(document.querySelector('td[data-metric="probe_count"][data-dir="s2c"][data-window="60s"]')?.textContent) >= 500,
      null,
      { timeout: 20_000 },
    );
    for (const dir of ['c2s', 's2c']) {
      expect(Number(await cell(page, 'probe_count', dir))).toBeGreaterThan(80);
      expect(Number(await cell(page, 'rtt_p50', dir === 'c2s' ? 's2c' : dir))).toBeGreaterThan(0);
      expect(Number(await cell(page, 'loss_rate', dir))).toBeLessThan(5);
    }
    expect(Number(await cell(page, 'rtt_p50', 'c2s'))).toBeGreaterThan(0);
    const points = await page.locator('figure.chart').evaluateAll((els) => els.map((e) => Number((e as HTMLElement).dataset.points)));
    expect(points).toHaveLength(6);
    for (const n of points) expect(n).toBeGreaterThanOrEqual(5);
    expect(await page.locator('#countdown').textContent()).toMatch(/Time left on this key: \d\d:\d\d/);
    await page.screenshot({ path: join(ARTIFACTS, 'page-measuring.png'), fullPage: true });
    const surveyId = ((await page.locator('#session').textContent()) ?? '').replace('Survey ', '');
    expect(surveyId).toMatch(/^[0-9a-f-]{36}$/);

    await page.click('#stop');
    await page.waitForFunction(() => document.querySelector('#status')?.textContent?.startsWith('Stopped'), null, { timeout: 15_000 });
    expect(await page.locator('#status').textContent()).toBe('Stopped — capture saved.');
    await page.screenshot({ path: join(ARTIFACTS, 'page-stopped.png'), fullPage: true });

    const session = await eventually(async () => {
      const rs = await db.execute({ sql: 'SELECT * FROM survey_sessions WHERE session_id = ?', args: [surveyId] });
      return rs.rows[0]?.pcap_path ? rs.rows[0] : null;
    });
    expect(session.magic_key).toBe('demo');
    const rows = await metricRows(db, surveyId);
    expect(rows.filter((r) => r.source === 'client' && r.direction === 's2c').length).toBeGreaterThanOrEqual(4);
    expect(rows.filter((r) => r.source === 'server' && r.direction === 'c2s').length).toBeGreaterThanOrEqual(4);
    const foreign = urls.filter((u) => !u.startsWith(sys.url));
    expect(foreign).toEqual([]);
    await page.close();
  });

  it('shows the invalid-key message in words for /?key=wrong', async () => {
    const { page } = await openPage('/?key=wrong');
    await page.click('#start');
    await page.waitForFunction(() => document.querySelector('#status')?.getAttribute('data-kind') === 'error', null, { timeout: 15_000 });
    expect(await page.locator('#status').textContent()).toBe("This link's key is not valid. Check the link you were given.");
    expect(await page.locator('#retry').isVisible()).toBe(true);
    expect(await page.locator('#start').isEnabled()).toBe(true);
    await page.screenshot({ path: join(ARTIFACTS, 'page-invalid-key.png'), fullPage: true });
    await page.close();
  });

  it('fits a phone screen: one column, no sideways scrolling', async () => {
    const page = await browser.newPage({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    await page.goto(`${sys.url}/?key=demo`);
    const layout = await page.evaluate(() => ({
      // Against the device width: a mobile layout viewport silently grows to fit content that is too wide.
      overflow: document.documentElement.scrollWidth - 390,
      columns: getComputedStyle(document.querySelector('main')!).gridTemplateColumns.split(' ').length,
      startWidth: document.querySelector('#start')!.getBoundingClientRect().width,
    }));
    expect(layout.overflow).toBeLessThanOrEqual(0);
    expect(layout.columns).toBe(1);
    const chartColumns = await page.evaluate(() => getComputedStyle(document.querySelector('#charts')!).gridTemplateColumns.split(' ').length);
    expect(chartColumns).toBe(1);
    // Thumb-sized buttons.
    expect(layout.startWidth).toBeGreaterThan(100);
    await page.screenshot({ path: join(ARTIFACTS, 'page-mobile.png'), fullPage: true });
    await page.close();
  });

  it('keeps the page bundle small', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'netpoke-page-'));
    try {
      const built = await buildPage(dir);
      expect(Object.keys(built.files).sort()).toEqual(['app.css', 'app.js', 'index.html']);
      expect(built.gzip).toBeLessThan(100 * 1024);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
