// The page's throughput test in Chromium: an idle baseline first (said on screen), then the load on its own
// connection, with idle and loaded RTT, RPM and the loaded seconds shaded on the charts.
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createMagicKey, type MagicKey } from '../../shared/db/keys.js';
import { metricRows } from '../helpers/system.js';
import { ARTIFACTS, useBrowserStack } from '../helpers/use-browser-stack.js';

const stack = useBrowserStack();
let key: MagicKey;
beforeAll(async () => {
  key = await createMagicKey(stack.db.db, { label: 'throughput' });
});

describe('measurement page: throughput test', () => {
  it('measures a baseline, then 15 s of download: RTT idle and under load, RPM and loaded shading on screen', async () => {
    const page = await stack.browser.newPage({ viewport: { width: 1200, height: 1600 } });
    await page.goto(`${stack.edge.url}/?key=${key.key}`);
    await page.selectOption('#traffic', 'download');
    await page.click('#start');
    await page.waitForFunction(() => /without load first/.test(document.querySelector('#throughput-status')?.textContent ?? ''), null, { timeout: 20_000 });
    expect(await page.locator('#throughput-status').textContent()).toBe('Measuring 3 s without load first (the idle baseline), then the throughput test starts.');
    await page.waitForFunction(() => /running/.test(document.querySelector('#throughput-status')?.textContent ?? ''), null, { timeout: 20_000 });
    // 15 loaded seconds on the charts.
    await page.waitForFunction(() => Number((document.querySelector('#charts figure.chart') as HTMLElement | null)?.dataset.loaded) >= 15, null, { timeout: 40_000 });
    const panel = (metric: string) => page.locator(`#responsiveness [data-metric="${metric}"]`).textContent();
    const [idle, loaded, rpm] = [await panel('rtt_idle'), await panel('rtt_loaded'), await panel('rpm')];
    expect(idle).toMatch(/^\d+\.\d\d \/ \d+\.\d\d ms$/);
    expect(loaded).toMatch(/^\d+\.\d\d \/ \d+\.\d\d ms$/);
    expect(rpm).toMatch(/^\d+ RPM$/);
    // RPM is 60000 / a mean of loaded round trips at or below their p90 and above their minimum: between 60000/p90 and far above it.
    const loadedP90 = Number(loaded!.split(' / ')[1]!.replace(' ms', ''));
    expect(Number(rpm!.replace(' RPM', ''))).toBeGreaterThanOrEqual(Math.floor(60_000 / loadedP90));
    // Every chart shades the same loaded seconds; the first three were the baseline.
    const shaded = await page.locator('#charts figure.chart').evaluateAll((els) => els.map((e) => Number((e as HTMLElement).dataset.loaded)));
    expect(new Set(shaded).size).toBe(1);
    // The summary's throughput over loaded seconds is the path's, not diluted by the baseline.
    expect(Number(await page.locator('td[data-metric="throughput"][data-dir="s2c"][data-window="60s"]').textContent())).toBeGreaterThan(20);
    await page.screenshot({ path: join(ARTIFACTS, 'page-throughput.png'), fullPage: true });
    const surveyId = ((await page.locator('#session').textContent()) ?? '').replace('Survey ', '');
    await page.click('#stop');
    await page.waitForFunction(() => document.querySelector('#status')?.textContent?.startsWith('Stopped'), null, { timeout: 15_000 });
    // The page's own rows: the baseline unloaded, then at least 15 loaded seconds each with its download goodput.
    const rows = (await metricRows(stack.db.db, surveyId)).filter((r) => r.source === 'client');
    expect(rows.slice(0, 3).every((r) => Number(r.loaded) === 0)).toBe(true);
    const loadedRows = rows.filter((r) => Number(r.loaded) === 1);
    expect(loadedRows.length).toBeGreaterThanOrEqual(15);
    expect(loadedRows.slice(1, -1).every((r) => Number(r.throughput_bps) > 20e6)).toBe(true);
    await page.close();
  }, 90_000);
});
