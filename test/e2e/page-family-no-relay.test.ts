// The page's words for a family no relay can serve (issue 22): a relay bound to 127.0.0.1 alone, the page's default
// "both" on loopback; IPv6 is named unavailable in the edge's no_relay words, never as a server that did not answer.
import { beforeAll, describe, expect, it } from 'vitest';
import { createMagicKey, type MagicKey } from '../../shared/db/keys.js';
import { useBrowserStack } from '../helpers/use-browser-stack.js';

const stack = useBrowserStack({ relayOverrides: { bindAddress: '127.0.0.1' } });
let key: MagicKey;
beforeAll(async () => {
  key = await createMagicKey(stack.db.db, { label: 'ipv4 only' });
});

describe('measurement page: a family without a relay', () => {
  it('says IPv6 has no measurement server, and measures IPv4', async () => {
    const page = await stack.browser.newPage();
    await page.goto(`${stack.edge.url}/?key=${key.key}`);
    expect(await page.inputValue('#family')).toBe('both');
    await page.click('#start');
    await page.waitForFunction(() => document.querySelector('#status')?.textContent?.startsWith('Measuring'), null, { timeout: 30_000 });
    const row = page.locator('#family-summary tr.unavailable[data-family="ipv6"]');
    await row.waitFor({ timeout: 30_000 });
    const words = (await row.textContent()) ?? '';
    expect(words).toContain('no measurement server reachable over IPv6 is available');
    expect(words).not.toMatch(/did not answer/);
    // IPv4's row comes with its first second.
    await page.locator('#family-summary tbody tr[data-family="ipv4"]:not(.unavailable)').waitFor({ timeout: 30_000 });
    await page.click('#stop');
    await page.close();
  }, 120_000);
});
