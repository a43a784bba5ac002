// A long survey's page in headless Chromium: its charts come downsampled from /series (≤ 2,000 points a chart),
// and zooming in re-fetches the shown range with finer buckets.
import type { Request } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../shared/auth/password.js';
import { createMagicKey } from '../../shared/db/keys.js';
import { createUser, setGrants } from '../../shared/db/users.js';
import { seedManyMetricRows } from '../helpers/big-export.js';
import { submitLogin, useBrowserStack } from '../helpers/use-browser-stack.js';

const ANALYST = 'zoom-analyst';
const PASSWORD = 'zoom-analyst-pass-0123456789';
const T0 = 1_700_000_000_000;
const ROWS = 40_000;

const stack = useBrowserStack({ relay: false });

beforeAll(async () => {
  const key = await createMagicKey(stack.db.db, { label: 'Long walk' });
  await createUser(stack.db.db, { login: ANALYST, role: 'analyst', passwordHash: await hashPassword(PASSWORD) });
  await setGrants(stack.db.db, ANALYST, [key.key_id], null);
  await seedManyMetricRows(stack.db.db, 'long-walk', key.key, ROWS, T0);
  // One row a second: 40,000 s (11 hours), 10,000 seconds in each of 4 connection-directions.
  await stack.db.db.execute({ sql: 'UPDATE survey_metrics SET timestamp_ms = ? + (timestamp_ms - ?) * 1000 WHERE session_id = ?', args: [T0, T0, 'long-walk'] });
}, 120_000);

describe('a long survey in the console', () => {
  it('draws charts of at most 2,000 points from /series, and a zoom re-fetches the range in finer buckets', async () => {
    const context = await stack.browser.newContext({ viewport: { width: 1200, height: 1600 } });
    const page = await context.newPage();
    page.on('pageerror', (e) => {
      throw e;
    });
    const asked: string[] = [];
    page.on('request', (r: Request) => asked.push(new URL(r.url()).pathname + new URL(r.url()).search));
    await page.goto(`${stack.edge.url}/console/surveys/long-walk`);
    await submitLogin(page, ANALYST, PASSWORD);
    await page.waitForSelector('figure.chart[data-chart="rtt_p99"]');
    expect(asked.some((u) => u.startsWith('/api/surveys/long-walk/metrics'))).toBe(false);
    expect(asked.some((u) => u.startsWith('/api/surveys/long-walk/series'))).toBe(true);
    const points = () => page.locator('figure.chart').evaluateAll((els) => els.map((e) => Number((e as HTMLElement).dataset.points)));
    const before = await points();
    expect(before.length).toBe(8);
    for (const n of before) expect(n).toBeGreaterThan(100); // drawn, at 20 s a bucket: ~2,000 x values
    for (const n of before) expect(n).toBeLessThanOrEqual(2_000);
    expect(await page.locator('#survey-charts').getAttribute('data-bucket-ms')).toBe('20000');

    // Drag across a tenth of the first chart: the shown range is fetched again, in buckets of a few seconds.
    const over = page.locator('figure.chart[data-chart="rtt_p99"] .u-over');
    await over.scrollIntoViewIfNeeded();
    const box = (await over.boundingBox())!;
    const answered = page.waitForResponse((r) => r.url().includes('/api/surveys/long-walk/series?') && r.url().includes('from='));
    await page.mouse.move(box.x + box.width * 0.4, box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.5, box.y + box.height / 2, { steps: 5 });
    await page.mouse.up();
    expect((await answered).status()).toBe(200);
    await page.waitForFunction(() => Number(document.querySelector<HTMLElement>('#survey-charts')!.dataset.bucketMs) < 20_000);
    const bucket = Number(await page.locator('#survey-charts').getAttribute('data-bucket-ms'));
    expect(bucket).toBeGreaterThanOrEqual(1000);
    expect(bucket).toBeLessThanOrEqual(3000); // ~4,000 s shown over 2,000 buckets
    for (const n of await points()) expect(n).toBeLessThanOrEqual(2_000);
    await context.close();
  }, 120_000);
});
