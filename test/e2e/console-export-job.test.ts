// The survey list's export button in headless Chromium, with the edge's inline limit set low (EXPORT_INLINE_MAX_ROWS=50):
// under it the browser downloads the streamed CSV as before; over it the console starts a background job, shows its
// state, and offers the finished file, which holds every row the database has, in export order.
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseCsv } from '../../shared/csv.js';
import { hashPassword } from '../../shared/auth/password.js';
import { createMagicKey, type MagicKey } from '../../shared/db/keys.js';
import { METRIC_COLUMNS } from '../../shared/db/metric-export.js';
import { createUser, setGrants } from '../../shared/db/users.js';
import { seedManyMetricRows } from '../helpers/big-export.js';
import { submitLogin, useBrowserStack } from '../helpers/use-browser-stack.js';

const ANALYST = 'export-analyst';
const PASSWORD = 'analyst-pass-0123456789';

const stack = useBrowserStack({ relay: false, edgeVars: { EXPORT_INLINE_MAX_ROWS: '50' } });
let key: MagicKey;

beforeAll(async () => {
  key = await createMagicKey(stack.db.db, { label: 'Exports' });
  await createUser(stack.db.db, { login: ANALYST, role: 'analyst', passwordHash: await hashPassword(PASSWORD) });
  await setGrants(stack.db.db, ANALYST, [key.key_id], null);
  await seedManyMetricRows(stack.db.db, 'export-small-1', key.key, 30, 1_700_000_000_000);
}, 60_000);

/** The key's metric row ids in export order (survey, then time, then id). */
const dbIds = async () =>
  (await stack.db.db.execute({ sql: 'SELECT m.id FROM survey_metrics m JOIN survey_sessions s ON s.session_id = m.session_id WHERE s.magic_key = ? ORDER BY m.session_id, m.timestamp_ms, m.id', args: [key.key] })).rows.map(
    (r) => String(r.id),
  );

describe('console export button', () => {
  it('downloads a small export directly and a large one through a background job with a download link', async () => {
    const context = await stack.browser.newContext({ acceptDownloads: true });
    const page = await context.newPage();
    page.on('pageerror', (e) => {
      throw e;
    });
    await page.goto(`${stack.edge.url}/console`);
    await submitLogin(page, ANALYST, PASSWORD);
    await page.waitForSelector('#survey-rows tr');

    const downloadedCsv = async (click: string) => {
      const [download] = await Promise.all([page.waitForEvent('download'), page.click(click)]);
      const [header, ...records] = parseCsv(readFileSync((await download.path())!, 'utf8'));
      expect(header).toEqual([...METRIC_COLUMNS]);
      return records.map((r) => r[0]);
    };

    // 30 rows: under the limit, the browser's own download of the streamed export.
    expect(await downloadedCsv('#export-csv')).toEqual(await dbIds());
    expect(await page.locator('#export-download').count()).toBe(0);

    // 70 rows: over it, a job; the status line says so and links the file when done.
    await seedManyMetricRows(stack.db.db, 'export-small-2', key.key, 40, 1_700_000_100_000);
    await page.click('#export-csv');
    await page.waitForSelector('#export-download', { timeout: 60_000 });
    expect(await page.textContent('#export-status')).toMatch(/^Export ready: 70 rows, [\d.]+ MB\. Download the export$/);
    const href = await page.getAttribute('#export-download', 'href');
    expect(href).toMatch(/^\/api\/surveys\/export-jobs\/[0-9a-f-]{36}\/content$/);
    const ids = await downloadedCsv('#export-download');
    expect(ids.length).toBe(70);
    expect(ids).toEqual(await dbIds());
    await context.close();
  }, 120_000);
});
