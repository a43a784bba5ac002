// A family the page cannot measure (issue 22): the relay answers on 127.0.0.1 only, the page asks for both
// families; IPv6 is shown as unavailable with its reason and the survey measures on IPv4 alone.
import { beforeAll, describe, expect, it } from 'vitest';
import { createMagicKey, type MagicKey } from '../../shared/db/keys.js';
import { eventually, metricRows } from '../helpers/system.js';
import { useBrowserStack } from '../helpers/use-browser-stack.js';

const stack = useBrowserStack();
let key: MagicKey;
beforeAll(async () => {
  key = await createMagicKey(stack.db.db, { label: 'one family' });
});

describe('measurement page: a family that cannot connect', () => {
  it('names IPv6 with its reason and measures IPv4', async () => {
    const page = await stack.browser.newPage({ viewport: { width: 1400, height: 1600 } });
    await page.goto(`${stack.edge.url}/?key=${key.key}`);
    expect(await page.inputValue('#family')).toBe('both');
    await page.selectOption('#connections', '2');
    await page.click('#start');
    await page.waitForFunction(() => document.querySelector('#status')?.textContent?.startsWith('Measuring'), null, { timeout: 30_000 });
    await page.waitForFunction(() => [...document.querySelectorAll('#path-table td[data-metric="probes"]')].some((c) => Number(c.textContent) >= 100), null, { timeout: 20_000 });
    const note = await page.locator('#family-unavailable li[data-family="ipv6"]').textContent();
    expect(note).toMatch(/^IPv6 could not be measured: .+/);
    expect(await page.locator('#family-summary tr.unavailable[data-family="ipv6"]').textContent()).toMatch(/unavailable: .+/);
    expect(await page.locator('#family-summary tr[data-family="ipv4"] td[data-metric="paths"]').textContent()).toBe('2');
    expect(await page.locator('#path-table tbody tr').evaluateAll((trs) => trs.map((t) => (t as HTMLElement).dataset.family))).toEqual(['ipv4', 'ipv4']);
    const surveyId = ((await page.locator('#session').textContent()) ?? '').replace('Survey ', '');
    await page.click('#stop');
    await page.waitForFunction(() => document.querySelector('#status')?.textContent?.startsWith('Stopped'), null, { timeout: 20_000 });
    const rows = await eventually(async () => {
      const r = await metricRows(stack.db.db, surveyId);
      return r.length >= 4 ? r : null;
    });
    expect(new Set(rows.map((r) => r.family))).toEqual(new Set(['ipv4']));
    await page.close();
  }, 90_000);

  it('says in words when the key cannot hold every connection asked for', async () => {
    const narrow = await createMagicKey(stack.db.db, { label: 'narrow', maxConcurrentSessions: 3 });
    const page = await stack.browser.newPage();
    await page.goto(`${stack.edge.url}/?key=${narrow.key}`);
    await page.selectOption('#connections', '2');
    await page.click('#start');
    await page.waitForFunction(() => document.querySelector('#status')?.getAttribute('data-kind') === 'error', null, { timeout: 20_000 });
    // Both families × 2 paths = 4 against a limit of 3.
    expect(await page.locator('#status').textContent()).toMatch(/^This key cannot hold the connections asked for: this survey opens 4 connections at once .* allows 3 concurrent connections/);
    expect(await page.locator('#start').isEnabled()).toBe(true);
    await page.close();
  }, 60_000);
});
