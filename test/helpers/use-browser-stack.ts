// Vitest lifecycle for the Chromium tests: the built page, a database, the edge in workerd, a relay and a browser.
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';
import { buildPage } from '../../page/build.js';
import type { RelayConfig } from '../../relay/config.js';
import type { RelayHandle } from '../../relay/relay.js';
import { CHROMIUM, CHROMIUM_ARGS } from './chromium-args.js';
import { startTestEdge, type TestEdge } from './edge.js';
import { startTestDb, startTestRelay, type TestDb } from './system.js';

/** Where the browser tests leave their screenshots. */
export const ARTIFACTS = resolve(import.meta.dirname, '../../test-artifacts');

export interface BrowserStack {
  readonly db: TestDb;
  readonly edge: TestEdge;
  readonly browser: Browser;
}

export interface BrowserStackOptions {
  /** Start a relay too (default true); the console pages alone need none. */
  relay?: boolean;
  /** The relay's config beside the test defaults. */
  relayOverrides?: Partial<RelayConfig>;
  /** More env vars for the edge. */
  edgeVars?: Record<string, string>;
  /** Chromium flags beside CHROMIUM_ARGS (a fake camera, autoplay…). */
  chromiumArgs?: readonly string[];
}

/** Starts everything before a test file's tests (its own beforeAll hooks run after this one) and stops it after them. */
export function useBrowserStack(opts: BrowserStackOptions = {}): BrowserStack {
  const parts = {} as { db: TestDb; relay?: RelayHandle; edge: TestEdge; browser: Browser };
  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    await buildPage();
    parts.db = await startTestDb();
    if (opts.relay !== false) parts.relay = await startTestRelay(parts.db, opts.relayOverrides);
    parts.edge = await startTestEdge({ libsqlUrl: parts.db.url, libsqlAuthToken: parts.db.authToken, vars: opts.edgeVars ?? {} });
    parts.browser = await chromium.launch({ executablePath: CHROMIUM, args: [...CHROMIUM_ARGS, ...(opts.chromiumArgs ?? [])] });
  }, 120_000);
  afterAll(async () => {
    await parts.browser?.close();
    await parts.relay?.close();
    await parts.edge?.close();
    await parts.db?.close();
  });
  return parts;
}

/** Fills and submits the console's login form on the page (which must show it). */
export async function submitLogin(page: Page, login: string, password: string): Promise<void> {
  await page.waitForSelector('#login-form');
  await page.fill('#login', login);
  await page.fill('#password', password);
  await page.click('#login-submit');
}
