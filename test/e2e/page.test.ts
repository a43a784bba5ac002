import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createClient, type Client } from '@libsql/client';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPage } from '../../page/build.js';
import { startLocalSystem, type LocalSystem } from '../helpers/npm-start.js';
import { CHROMIUM, CHROMIUM_ARGS } from '../helpers/chromium-args.js';
import { startRawChromium } from '../helpers/raw-chromium.js';
import { eventually, metricRows } from '../helpers/system.js';

const ARTIFACTS = resolve(import.meta.dirname, '../../test-artifacts');

// The system exactly as the README starts it: `npm start` (database, relay, page build, wrangler dev).
let sys: LocalSystem;
let db: Client;
let browser: Browser;

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  sys = await startLocalSystem();
  db = createClient({ url: sys.dbUrl, authToken: sys.dbAuthToken });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
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
    // Several seconds of stats: the 60 s window has summed 500 probes down (one connection per family the page
    // found — on loopback both, so sooner), and every chart has drawn at least five seconds.
    await page.waitForFunction(
      () => Number(document.querySelector('td[data-metric="probe_count"][data-dir="s2c"][data-window="60s"]')?.textContent) >= 500,
      null,
      { timeout: 20_000 },
    );
    await page.waitForFunction(
      () => [...document.querySelectorAll<HTMLElement>('#charts figure.chart')].every((e) => Number(e.dataset.points) >= 5),
      null,
      { timeout: 20_000 },
    );
    for (const dir of ['c2s', 's2c']) {
      expect(Number(await cell(page, 'probe_count', dir))).toBeGreaterThan(80);
      expect(Number(await cell(page, 'rtt_p50', dir === 'c2s' ? 's2c' : dir))).toBeGreaterThan(0);
      expect(Number(await cell(page, 'loss_rate', dir))).toBeLessThan(5);
    }
    expect(Number(await cell(page, 'rtt_p50', 'c2s'))).toBeGreaterThan(0);
    const points = await page.locator('#charts figure.chart').evaluateAll((els) => els.map((e) => Number((e as HTMLElement).dataset.points)));
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
      expect(Object.keys(built.files)).toEqual(expect.arrayContaining(['app.css', 'app.js', 'index.html', 'tick-worker.js']));
      expect(built.gzip).toBeLessThan(100 * 1024);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('a hidden tab', () => {
  it('hides the page for 5 s mid-survey: the rows of that time show no loss and no reordering, and the page says what happened', async () => {
    // Raw Chromium: tabs switched as a person switches them (Playwright would keep the page visible).
    const chrome = await startRawChromium();
    try {
      const tab = await chrome.open(`${sys.url}/?key=demo`);
      await eventually(() => tab.evaluate<boolean>("document.readyState === 'complete' && !!document.querySelector('#start')"));
      await tab.evaluate("document.querySelector('#start').click()");
      await eventually(() => tab.evaluate<boolean>("document.querySelector('#status').textContent.startsWith('Measuring')"), 20_000);
      await eventually(() => tab.evaluate<boolean>(`Number(document.querySelector('td[data-metric="probe_count"][data-dir="s2c"][data-window="60s"]').textContent) >= 250`), 20_000);
      const surveyId = (await tab.evaluate<string>("document.querySelector('#session').textContent")).replace('Survey ', '');

      const other = await chrome.open('about:blank');
      await eventually(() => tab.evaluate<boolean>("document.visibilityState === 'hidden'"));
      const hiddenFrom = Date.now();
      // The scenario itself: five seconds in the background.
      await new Promise((r) => setTimeout(r, 5_000));
      await tab.activate();
      await eventually(() => tab.evaluate<boolean>("document.visibilityState === 'visible'"));
      const hiddenTo = Date.now();
      other.close();
      const note = await eventually(() => tab.evaluate<string>("document.querySelector('#paused').textContent"));
      expect(note).toMatch(/^(The tab was hidden for \d+ s; measuring went on\.|Measurement paused while the tab was hidden)/);

      // Measuring goes on until both sides have written a window that began after the tab came back.
      await eventually(async () => {
        const r = await metricRows(db, surveyId);
        return ['server', 'client'].every((src) => r.some((x) => x.source === src && Number(x.timestamp_ms) > hiddenTo + 1_500));
      }, 15_000);
      await tab.evaluate("document.querySelector('#stop').click()");
      await eventually(() => tab.evaluate<boolean>("document.querySelector('#status').textContent.startsWith('Stopped')"), 15_000);
      const rows = await metricRows(db, surveyId);
      // Rows are stamped when their window closes: those of the hidden seconds end within it or just after.
      const during = rows.filter((r) => Number(r.timestamp_ms) > hiddenFrom + 1_000 && Number(r.timestamp_ms) <= hiddenTo + 1_000);
      for (const source of ['server', 'client']) expect(during.filter((r) => r.source === source).length).toBeGreaterThanOrEqual(4);
      for (const r of during) {
        expect(Number(r.loss_rate), `${r.source} row at ${r.timestamp_ms}`).toBe(0);
        expect(Number(r.reorder_rate), `${r.source} row at ${r.timestamp_ms}`).toBe(0);
      }
      const paused = during.filter((r) => r.source === 'server').reduce((n, r) => n + Number(r.sender_paused_ms), 0);
      if (note.includes('went on')) {
        // Kept measuring: the relay got the page's probes all along.
        for (const r of during.filter((x) => x.source === 'server')) expect(Number(r.probe_count)).toBeGreaterThanOrEqual(80);
        expect(paused).toBeLessThan(500);
      } else {
        expect(paused).toBeGreaterThan(0);
      }
      tab.close();
    } finally {
      await chrome.stop();
    }
  });
});
