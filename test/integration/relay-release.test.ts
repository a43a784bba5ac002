// The relay as production runs it: `npm run build`, the built output installed with `npm ci --omit=dev` in a
// directory of its own (no tsx, no dev dependencies), started with `node dist/relay/main.js` against a real
// database, and a headless survey through the edge in workerd to it. Also its /health and /ready answers.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runProbe } from '../../cli/run-probe.js';
import { startTestEdge, type TestEdge } from '../helpers/edge.js';
import { eventually, freeUdpPort, metricRows, startTestDb, TEST_SECRET, type TestDb } from '../helpers/system.js';

const ROOT = resolve(import.meta.dirname, '../..');
const installDir = mkdtempSync(join(tmpdir(), 'netpoke-release-'));
const RELAY_ID = 'release-1';

/** Runs a command to its end; rejects with its output when it fails. */
function run(cmd: string, args: string[], cwd: string, timeoutMs: number): Promise<string> {
  return runWith(cmd, args, cwd, process.env, timeoutMs);
}

/** As run(), with only the environment given. */
function runWith(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv, timeoutMs = 30_000): Promise<string> {
  return new Promise((done, fail) => {
    execFile(cmd, args, { cwd, env, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) fail(new Error(`${cmd} ${args.join(' ')} failed: ${err.message}\n${stdout}\n${stderr}`));
      else done(stdout);
    });
  });
}

interface RelayChild {
  child: ChildProcess;
  api: string;
  ops: string;
  exited: Promise<number | null>;
  stderr: string[];
}

/** Starts `node dist/relay/main.js` from the install dir with only the environment it is given; resolves on its "relay started" line. */
async function startBuiltRelay(db: TestDb): Promise<RelayChild> {
  const child = spawn(process.execPath, ['dist/relay/main.js'], {
    cwd: installDir,
    // Not the test's environment: no loader (NODE_OPTIONS) or variable of the test runner reaches it.
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      // Plain http on loopback (relay-tls.test.ts covers HTTPS and the refusal of http outside local mode).
      NETPOKE_MODE: 'local',
      RELAY_ID,
      RELAY_PORT: '0',
      RELAY_UDP_PORT: String(await freeUdpPort()),
      RELAY_METRICS_PORT: '0',
      RELAY_SHARED_SECRET: TEST_SECRET,
      RELAY_LOG_LEVEL: 'info',
      LIBSQL_URL: db.url,
      LIBSQL_AUTH_TOKEN: db.authToken,
      NETPOKE_DATA_DIR: join(installDir, 'data'),
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const stderr: string[] = [];
  const started = new Promise<{ api: string; ops: string }>((done, fail) => {
    createInterface({ input: child.stderr! }).on('line', (line) => {
      stderr.push(line);
      const m = /relay INFO relay started (\{.*\})$/.exec(line);
      if (m) {
        const f = JSON.parse(m[1]!) as { api: string; ops: string };
        done({ api: f.api, ops: f.ops });
      }
    });
    void exited.then((code) => fail(new Error(`the relay exited (${code}) before it started:\n${stderr.join('\n')}`)));
  });
  return { child, exited, stderr, ...(await started) };
}

let db: TestDb;
let edge: TestEdge;
let relay: RelayChild;

beforeAll(async () => {
  await run('npm', ['run', 'build'], ROOT, 120_000);
  cpSync(join(ROOT, 'dist'), join(installDir, 'dist'), { recursive: true });
  cpSync(join(ROOT, 'package.json'), join(installDir, 'package.json'));
  cpSync(join(ROOT, 'package-lock.json'), join(installDir, 'package-lock.json'));
  await run('npm', ['ci', '--omit=dev', '--prefer-offline', '--no-audit', '--no-fund'], installDir, 300_000);
  db = await startTestDb();
  edge = await startTestEdge({ libsqlUrl: db.url, libsqlAuthToken: db.authToken });
  relay = await startBuiltRelay(db);
}, 480_000);

afterAll(async () => {
  if (relay && relay.child.exitCode === null && relay.child.signalCode === null) {
    relay.child.kill('SIGTERM');
    await relay.exited;
  }
  await edge?.close();
  await db?.close();
  rmSync(installDir, { recursive: true, force: true });
});

/** GET `path` on `base`: status and JSON body. */
async function getJson(base: string, path: string): Promise<{ status: number; body: unknown }> {
  const r = await fetch(`${base}${path}`);
  return { status: r.status, body: await r.json() };
}

describe('the relay release', () => {
  it('is a production install: no dev dependency is installed, and the relay is plain JavaScript run by node', () => {
    for (const dev of ['tsx', 'esbuild', 'typescript', 'vitest', 'wrangler']) expect(existsSync(join(installDir, 'node_modules', dev)), dev).toBe(false);
    expect(existsSync(join(installDir, 'node_modules/node-datachannel'))).toBe(true);
    for (const cli of ['keys', 'users', 'probe']) expect(existsSync(join(installDir, `dist/cli/${cli}.js`)), cli).toBe(true);
    expect(relay.child.exitCode).toBeNull();
  });

  it('answers /health and /ready without auth, on the internal API and on the ops port', async () => {
    for (const base of [relay.api, relay.ops]) {
      expect(await getJson(base, '/health')).toEqual({ status: 200, body: { ok: true } });
      expect(await getJson(base, '/ready')).toEqual({ status: 200, body: { ready: true } });
    }
  });

  it('runs a headless survey through the edge with a key the built keys CLI made; the metrics and the capture are stored', async () => {
    const created = await runWith(process.execPath, ['dist/cli/keys.js', 'create', '--label', 'release', '--ttl', '1h', '--json'], installDir, {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      LIBSQL_URL: db.url,
      LIBSQL_AUTH_TOKEN: db.authToken,
    });
    const key = (JSON.parse(created) as { key: string }).key;
    expect(key).toMatch(/^np_/);
    const result = await runProbe({ url: edge.url, key, durationMs: 3_000 });
    expect(result.stoppedBy).toBe('duration');
    expect(result.pcapAvailable).toBe(true);
    const session = await db.db.execute({ sql: 'SELECT magic_key FROM survey_sessions WHERE session_id = ?', args: [result.surveySessionId] });
    expect(session.rows[0]?.magic_key).toBe(key);
    const peers = await db.db.execute({ sql: 'SELECT DISTINCT relay_id FROM relay_peers WHERE conn_id = ?', args: [result.connIds[0]!] });
    expect(peers.rows.map((r) => r.relay_id)).toEqual([RELAY_ID]);
    const rows = await eventually(async () => {
      const all = await metricRows(db.db, result.surveySessionId);
      const server = all.filter((r) => r.source === 'server' && r.direction === 'c2s');
      const client = all.filter((r) => r.source === 'client' && r.direction === 's2c');
      return server.length >= 2 && client.length >= 2 ? { server, client } : null;
    });
    // Probes flowed both ways at 100/s: full seconds carry close to 100 each.
    expect(Math.max(...rows.server.map((r) => Number(r.probe_count)))).toBeGreaterThanOrEqual(80);
    expect(Math.max(...rows.client.map((r) => Number(r.probe_count)))).toBeGreaterThanOrEqual(80);
    // The capture was written by the pcapng worker, loaded from dist/ beside the compiled relay.
    const captures = await eventually(async () => {
      const rs = await db.db.execute({ sql: 'SELECT path, records FROM survey_captures WHERE session_id = ?', args: [result.surveySessionId] });
      return rs.rows.length > 0 ? rs.rows : null;
    });
    expect(Number(captures[0]!.records)).toBeGreaterThan(100);
    expect(existsSync(String(captures[0]!.path))).toBe(true);
  });

  it('is not ready while its database is down, still healthy, and ready again once it is back', async () => {
    await db.stop();
    try {
      for (const base of [relay.api, relay.ops]) {
        const ready = await getJson(base, '/ready');
        expect(ready).toMatchObject({ status: 503, body: { ready: false, reason: 'database_unreachable' } });
        expect((ready.body as { message: string }).message).not.toContain(db.url);
        expect(await getJson(base, '/health')).toEqual({ status: 200, body: { ok: true } });
      }
    } finally {
      await db.restart();
    }
    // The client reconnects on its next request; the registry's next beat may come first.
    await eventually(async () => (await getJson(relay.api, '/ready')).status === 200, 15_000);
    expect(await getJson(relay.ops, '/ready')).toEqual({ status: 200, body: { ready: true } });
  });

  it('stops on SIGTERM with exit code 0 and leaves the registry', async () => {
    relay.child.kill('SIGTERM');
    expect(await relay.exited).toBe(0);
    const rs = await db.db.execute({ sql: 'SELECT last_heartbeat FROM relays WHERE id = ?', args: [RELAY_ID] });
    expect(Number(rs.rows[0]?.last_heartbeat)).toBe(0);
  });
});
