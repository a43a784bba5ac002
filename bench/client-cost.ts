// `npm run bench client-cost`: what measuring costs the client, at 1, 8 and 32 connections (issue 22). The headless
// client's process CPU (/proc/<pid>/stat, all its threads) and the Chromium tab's renderer CPU (CDP
// SystemInfo.getProcessInfo) over WINDOW_S seconds of probing, each as a share of one core.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { chromium, type Browser } from 'playwright-core';
import { buildPage } from '../page/build.js';
import { createMagicKey } from '../shared/db/keys.js';
import { CHROMIUM, CHROMIUM_ARGS } from '../test/helpers/chromium-args.js';
import { startTestEdge } from '../test/helpers/edge.js';
import { startTestDb, startTestRelay } from '../test/helpers/system.js';

const ROOT = resolve(import.meta.dirname, '..');
/** Seconds of steady probing measured per run (after every connection reported its first second). */
const WINDOW_S = Number(process.env.CLIENT_COST_WINDOW_S ?? 20);
/** Connections in all, and how they split: one IPv4 path, then both families side by side. */
const LEVELS = [
  { total: 1, family: 'ipv4', paths: 1 },
  { total: 8, family: 'both', paths: 4 },
  { total: 32, family: 'both', paths: 16 },
] as const;
/** Clock ticks a second of /proc's utime and stime (USER_HZ, 100 on Linux). */
const HZ = 100;

/** CPU seconds (user + system, all threads) a process has used so far. */
function processCpuS(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / HZ;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The headless client (its own process, as `npm run probe` runs it) at one level: percent of a core. */
async function headless(url: string, key: string, level: (typeof LEVELS)[number]): Promise<number> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'cli/probe.ts', '--url', url, '--key', key, '--duration', `${WINDOW_S + 15}s`, '--family', level.family === 'ipv4' ? 'v4' : 'both', '--paths', String(level.paths), '--json'],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const seen = new Set<string>();
  let measuredAt: Promise<void> | null = null;
  let result = 0;
  const done = new Promise<void>((ok, fail) => {
    child.on('exit', () => (measuredAt ? measuredAt.then(ok, fail) : fail(new Error(`the client ended before all ${level.total} connections reported`))));
  });
  for await (const line of createInterface({ input: child.stdout! })) {
    if (!line.startsWith('{"second"')) continue;
    seen.add((JSON.parse(line) as { conn_id: string }).conn_id);
    if (seen.size < level.total || measuredAt) continue;
    measuredAt = (async () => {
      const [c0, t0] = [processCpuS(child.pid!), performance.now()];
      await sleep(WINDOW_S * 1000);
      result = ((processCpuS(child.pid!) - c0) / ((performance.now() - t0) / 1000)) * 100;
      child.kill('SIGINT');
    })();
  }
  await done;
  return result;
}

/** The page in a Chromium tab at one level: the renderer's CPU as percent of a core (and the browser's in all). */
async function tab(browser: Browser, url: string, key: string, level: (typeof LEVELS)[number]): Promise<{ renderer: number; all: number }> {
  const cdp = await browser.newBrowserCDPSession();
  type Info = { processInfo: { type: string; id: number; cpuTime: number }[] };
  const cpu = async () => {
    const info = (await cdp.send('SystemInfo.getProcessInfo')) as unknown as Info;
    const sum = (pick: (p: Info['processInfo'][number]) => boolean) => info.processInfo.filter(pick).reduce((n, p) => n + p.cpuTime, 0);
    return { renderer: sum((p) => p.type === 'renderer'), all: sum(() => true) };
  };
  const page = await browser.newPage({ viewport: { width: 1400, height: 1800 } });
  try {
    await page.goto(`${url}/?key=${key}`);
    await page.selectOption('#family', level.family);
    await page.selectOption('#connections', String(level.paths));
    await page.click('#start');
    await page.waitForFunction((n) => document.querySelectorAll('#path-table tbody tr').length === n, level.total, { timeout: 60_000 });
    const [c0, t0] = [await cpu(), performance.now()];
    await sleep(WINDOW_S * 1000);
    const [c1, s] = [await cpu(), (performance.now() - t0) / 1000];
    await page.click('#stop');
    await page.waitForFunction(() => document.querySelector('#status')?.textContent?.startsWith('Stopped'), null, { timeout: 30_000 });
    return { renderer: ((c1.renderer - c0.renderer) / s) * 100, all: ((c1.all - c0.all) / s) * 100 };
  } finally {
    await page.close();
    await cdp.detach();
  }
}

/** Runs every level with the headless client, then in Chromium; CPU as percent of one core. */
export async function benchClientCost(): Promise<Record<string, number | string>> {
  await buildPage();
  const db = await startTestDb();
  const relay = await startTestRelay(db, { bindAddress: '::', publicAddresses: ['127.0.0.1', '::1'] });
  const edge = await startTestEdge({ libsqlUrl: db.url, libsqlAuthToken: db.authToken });
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  const out: Record<string, number | string> = { window: `${WINDOW_S} s of probing per run; % of one core` };
  try {
    const key = await createMagicKey(db.db, { label: 'client-cost', maxMeasuringMs: 24 * 3_600_000 });
    for (const level of LEVELS) out[`headless client, ${level.total} connection(s) (%)`] = await headless(edge.url, key.key, level);
    for (const level of LEVELS) {
      const r = await tab(browser, edge.url, key.key, level);
      out[`Chromium renderer, ${level.total} connection(s) (%)`] = r.renderer;
      out[`Chromium all processes, ${level.total} connection(s) (%)`] = r.all;
    }
  } finally {
    await browser.close();
    await edge.close();
    await relay.close();
    await db.close();
  }
  return out;
}
