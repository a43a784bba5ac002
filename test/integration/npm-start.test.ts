import { lstatSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runProbe } from '../../cli/run-probe.js';
import { portIsFree, startLocalSystem, type LocalSystem } from '../helpers/npm-start.js';
import { eventually } from '../helpers/system.js';
import { loginCookie } from '../helpers/principals.js';

describe('npm start (the README command)', () => {
  it('runs database, relay and edge under wrangler dev, prints the URL, serves a survey, and stops cleanly on Ctrl-C', async () => {
    const sys = await startLocalSystem({ looseDataDir: true });
    let stopped = false;
    try {
      expect(sys.url).toBe(`http://127.0.0.1:${sys.ports.edge}`);
      expect(sys.output()).toContain(`npm run probe -- --url ${sys.url} --key demo`);

      const page = await fetch(`${sys.url}/?key=demo`);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('<script type="module" src="/app.js">');
      expect((await fetch(`${sys.url}/app.js`)).status).toBe(200);

      const result = await runProbe({ url: sys.url, key: 'demo', durationMs: 3_000 });
      expect(result.seconds.length).toBeGreaterThanOrEqual(2);
      // A whole second carried the stream (the last window is the tail after Stop, a few probes wide).
      expect(Math.max(...result.seconds.filter((s) => !s.final).map((s) => s.s2c.probe_count))).toBeGreaterThan(80);
      expect(result.pcapAvailable).toBe(true);

      expect(statSync(join(sys.dataDir, 'netpoke.db')).isFile()).toBe(true);
      expect(statSync(join(sys.dataDir, 'local-secret')).mode & 0o777).toBe(0o600);

      // The local admin: made once, its password kept in the data dir (0600) and printed with the console URL.
      const passwordFile = join(sys.dataDir, 'admin-password');
      expect(statSync(passwordFile).mode & 0o777).toBe(0o600);
      const password = readFileSync(passwordFile, 'utf8').trim();
      expect(sys.output()).toContain(`console   ${sys.url}/console — log in as admin with the password in ${passwordFile} (${password})`);
      const cookie = await loginCookie(sys.url, 'admin', password);
      const console = await fetch(`${sys.url}/console`, { headers: { cookie } });
      expect(console.status).toBe(200);
      expect(await console.text()).toContain('console.js');
      // The survey's capture went to wrangler's local R2 and comes back through the console route.
      const capture = await eventually(async () => {
        const r = await fetch(`${sys.url}/api/surveys/${result.surveySessionId}/captures/${result.connIds[0]}`, { headers: { cookie } });
        return r.status === 200 ? new Uint8Array(await r.arrayBuffer()) : null;
      }, 20_000);
      expect(Buffer.from(capture.subarray(0, 4)).readUInt32LE(0)).toBe(0x0a0d0d0a);

      // Both families on loopback (127.0.0.1 and ::1 to one relay bound to ::): a survey held to each stores rows of each.
      const both = await runProbe({ url: sys.url, key: 'demo', durationMs: 3_000, families: ['ipv4', 'ipv6'], paths: 1 });
      expect(both.unavailable).toEqual([]);
      expect(both.paths.map((p) => p.family).sort()).toEqual(['ipv4', 'ipv6']);
      const split = await eventually(async () => {
        const r = await fetch(`${sys.url}/api/surveys/${both.surveySessionId}`, { headers: { cookie } });
        const d = (await r.json()) as { path_split?: { family_summaries: { family: string | null; s2c: { probes_expected: number }; c2s: { probes_expected: number } }[] } };
        const fams = d.path_split?.family_summaries ?? [];
        return fams.length === 2 && fams.every((f) => f.c2s.probes_expected >= 100 && f.s2c.probes_expected >= 100) ? fams : null;
      }, 20_000);
      expect(split.map((f) => f.family)).toEqual(['ipv4', 'ipv6']);

      // Plaintext keys, password hashes and captures: the data dir and everything in it are the owner's alone, the loose dir tightened.
      const open = groupOrOtherAccessible(sys.dataDir);
      expect(statSync(sys.dataDir).mode & 0o777).toBe(0o700);
      expect(open, open.join('\n')).toEqual([]);
      expect(readdirSync(sys.dataDir)).toEqual(expect.arrayContaining(['netpoke.db', 'netpoke.db-wal', 'captures', 'wrangler']));

      await sys.stop();
      stopped = true;
      expect(sys.processes()).toEqual([]);
      expect(sys.output()).not.toMatch(/while stopping|Error:|killing what is left/);
    } finally {
      if (!stopped) await sys.stop();
    }
  }, 120_000);
});

/** Every file or directory under `dir` (links not followed) that its group or others may read, write or enter, with its mode. */
function groupOrOtherAccessible(dir: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir, { recursive: true, encoding: 'utf8' })) {
    const path = join(dir, entry);
    const st = lstatSync(path);
    if (!st.isSymbolicLink() && (st.mode & 0o077) !== 0) found.push(`${entry} ${(st.mode & 0o777).toString(8)}`);
  }
  return found;
}

/** Whether nothing of `sys` is left: no process naming its data dir, and its TCP ports free. */
async function nothingLeft(sys: LocalSystem): Promise<boolean> {
  if (sys.processes().length > 0) return false;
  return (await Promise.all([sys.ports.db, sys.ports.relay, sys.ports.edge].map(portIsFree))).every(Boolean);
}

/** The processes a started system must have, by what they run: proof that the process-list check can see them. */
function expectAllParts(sys: LocalSystem): void {
  const args = sys.processes().map((p) => p.args);
  for (const part of ['local/start.ts', 'local/db-main.ts', 'wrangler', 'workerd serve', 'esbuild --service']) {
    expect(args.some((a) => a.includes(part)), `${part} in\n${args.join('\n')}`).toBe(true);
  }
}

/** The process running local/start.ts: of those naming it (a shell or launcher may sit above), the one none of them is parent of. */
function startProcess(sys: LocalSystem): number {
  const named = sys.processes().filter((p) => p.args.includes('local/start.ts'));
  const runner = named.filter((p) => !named.some((q) => q.ppid === p.pid));
  expect(runner).toHaveLength(1);
  return runner[0]!.pid;
}

describe('npm start leaves nothing behind, however it ends', () => {
  it('SIGTERM to npm start stops every process within 5 s', async () => {
    const sys = await startLocalSystem();
    try {
      expectAllParts(sys);
      const t0 = performance.now();
      process.kill(sys.npmPid, 'SIGTERM');
      await sys.exited;
      await eventually(() => nothingLeft(sys), 5_000 - (performance.now() - t0), 50);
      expect(performance.now() - t0).toBeLessThan(5_000);
      expect(sys.output()).not.toMatch(/killing what is left/);
    } finally {
      await sys.stop();
    }
  }, 120_000);

  it('SIGKILL of the process running local/start.ts leaves no process and frees every port', async () => {
    const sys = await startLocalSystem();
    try {
      expectAllParts(sys);
      process.kill(startProcess(sys), 'SIGKILL');
      await sys.exited;
      await eventually(() => nothingLeft(sys), 10_000, 100);
    } finally {
      await sys.stop();
    }
  }, 120_000);

  it('SIGKILL of the npm start wrapper alone leaves no process and frees every port', async () => {
    const sys = await startLocalSystem();
    try {
      expectAllParts(sys);
      process.kill(sys.npmPid, 'SIGKILL');
      await sys.exited;
      await eventually(() => nothingLeft(sys), 10_000, 100);
    } finally {
      await sys.stop();
    }
  }, 120_000);
});
