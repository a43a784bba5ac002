// The survey client (client/survey-client.ts) in headless Chromium, for what only a browser's WebRTC stack does,
// e.g. honour iceTransportPolicy 'relay' in its connectivity checks (node-datachannel's libjuice does not).
import { resolve } from 'node:path';
import { build } from 'esbuild';
import { chromium, type Browser, type Page } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS } from './chromium-args.js';

const ROOT = resolve(import.meta.dirname, '../..');


/** Starts headless Chromium (Debian's, as .ci/run installs it). */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}

let bundled: Promise<string> | null = null;

/** client/survey-client.ts as a classic script that sets `window.NetPokeClient` ({ startSurvey }). */
export function surveyClientScript(): Promise<string> {
  bundled ??= build({
    stdin: { contents: "export { startSurvey } from './client/survey-client.ts';", resolveDir: ROOT, loader: 'ts' },
    bundle: true,
    format: 'iife',
    globalName: 'NetPokeClient',
    target: 'es2020',
    platform: 'browser',
    write: false,
    logLevel: 'warning',
  }).then((out) => out.outputFiles[0]!.text);
  return bundled;
}

/** A page at `origin` (so the client's fetches to the edge are same-origin) with the survey client loaded. */
export async function openClientPage(browser: Browser, origin: string): Promise<Page> {
  // The script is injected inline, which the edge's CSP would refuse.
  const context = await browser.newContext({ bypassCSP: true });
  const page = await context.newPage();
  await page.goto(`${origin}/health`);
  await page.addScriptTag({ content: await surveyClientScript() });
  return page;
}
