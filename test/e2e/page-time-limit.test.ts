// The measurement page in Chromium with a key whose measuring time runs out mid-survey: it says so in words
// while it stops and once stopped, the capture is saved as on Stop, and the survey ends time_limit.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createMagicKey } from '../../shared/db/keys.js';
import { eventually } from '../helpers/system.js';
import { ARTIFACTS, useBrowserStack } from '../helpers/use-browser-stack.js';

const stack = useBrowserStack();

describe('measurement page at the key’s measuring limit', () => {
  it('says the measuring time is used up, stops like Stop (capture saved), and the survey ends time_limit', async () => {
    const key = await createMagicKey(stack.db.db, { label: 'three seconds', maxMeasuringMs: 3_000 });
    const page = await stack.browser.newPage({ viewport: { width: 1200, height: 1400 } });
    try {
      await page.goto(`${stack.edge.url}/?key=${key.key}`);
      const statuses: string[] = [];
      await page.exposeFunction('noteStatus', (t: string) => statuses.push(t));
      await page.evaluate(() => {
        const el = document.querySelector('#status')!;
        new MutationObserver(() => (window as unknown as { noteStatus: (t: string) => void }).noteStatus(el.textContent ?? '')).observe(el, { childList: true, characterData: true, subtree: true });
      });
      await page.click('#start');
      await page.waitForFunction(() => document.querySelector('#status')?.textContent?.startsWith('Stopped'), null, { timeout: 30_000 });
      expect(await page.locator('#status').textContent()).toBe('Stopped — this key’s measuring time is used up; capture saved.');
      expect(statuses).toContain('This key’s measuring time is used up — stopping and saving the capture…');
      await page.screenshot({ path: join(ARTIFACTS, 'page-time-limit.png'), fullPage: true });
      const surveyId = ((await page.locator('#session').textContent()) ?? '').replace('Survey ', '');
      expect(surveyId).toMatch(/^[0-9a-f-]{36}$/);
      const row = await eventually(async () => {
        const rs = await stack.db.db.execute({ sql: 'SELECT end_reason, pcap_path FROM survey_sessions WHERE session_id = ?', args: [surveyId] });
        return rs.rows[0]?.end_reason && rs.rows[0]?.pcap_path ? rs.rows[0] : null;
      });
      expect(row.end_reason).toBe('time_limit');
    } finally {
      await page.close();
    }
  }, 90_000);
});
