// `npm start`: the whole system on this machine, in local mode: the libSQL file served over HTTP on
// loopback, the database server in a process of its own, the migration step, one relay in this process, and
// the edge under `wrangler dev`. Ctrl-C or SIGTERM stops all three within 5 s; if this process dies (SIGKILL
// included) or npm above it does, its children notice (parent-watch.ts) and end too: nothing is left behind.
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createClient } from '@libsql/client';
import * as z from 'zod';
import { ConfigError, parseConfig } from '../shared/config.js';
import { ensureDemoKey } from '../shared/db/keys.js';
import { describeMigrations, migrate } from '../shared/db/migrate.js';
import { relayConfigFromEnv } from '../relay/config.js';
import { startRelay, type RelayHandle } from '../relay/relay.js';
import { localDbToken, localSecret, writeSecretFile } from './secrets.js';
import { ownerOnlyFromNowOn, prepareDataDir } from './data-dir.js';
import { ensureLocalAdmin, type LocalAdmin } from './admin-account.js';
import { whenParentGone } from './parent-watch.js';
import { ipv6LoopbackUsable, localRelayAddresses } from './relay-addresses.js';

const ROOT = resolve(import.meta.dirname, '..');
const port = z.coerce.number().int().min(1).max(65535);

const StartEnvSchema = z.object({
  NETPOKE_DATA_DIR: z.string().min(1).default('./data'),
  NETPOKE_DB_PORT: port.default(8080),
  NETPOKE_EDGE_PORT: port.default(8787),
  NETPOKE_DEMO_KEY: z.string().regex(/^[A-Za-z0-9_.~-]{1,256}$/, 'letters, digits, _ . ~ - only').default('demo'),
  RELAY_PORT: port.default(8790),
  RELAY_UDP_PORT: port.default(50000),
  RELAY_BIND_ADDRESS: z.string().min(1).optional(),
});

/** A stop that ends everything started so far, in reverse order. */
type Stopper = () => Promise<void>;

/** The promise of `npm start` to stop within 5 s of SIGTERM: past this, what has not stopped is killed. */
const STOP_DEADLINE_MS = 4_000;

class StartError extends Error {}

async function main(): Promise<void> {
  const env = parseConfig(StartEnvSchema, process.env);
  const dataDir = resolve(env.NETPOKE_DATA_DIR);
  if (process.env.LIBSQL_URL) console.warn(`npm start: ignoring LIBSQL_URL (local mode keeps its database in ${dataDir}); set it for npm run relay / keys instead.`);

  const relayAt = localRelayAddresses({ RELAY_BIND_ADDRESS: env.RELAY_BIND_ADDRESS, RELAY_PUBLIC_ADDRESS: process.env.RELAY_PUBLIC_ADDRESS }, await ipv6LoopbackUsable());
  await assertPortsFree([
    { port: env.NETPOKE_DB_PORT, proto: 'tcp', what: 'the local database server', moveWith: 'NETPOKE_DB_PORT' },
    { port: env.RELAY_PORT, proto: 'tcp', what: "the relay's internal API", moveWith: 'RELAY_PORT' },
    { port: env.RELAY_UDP_PORT, proto: 'udp', what: "the relay's WebRTC (ICE) port", moveWith: 'RELAY_UDP_PORT', host: relayAt.bind },
    { port: env.NETPOKE_EDGE_PORT, proto: 'tcp', what: 'the edge (wrangler dev)', moveWith: 'NETPOKE_EDGE_PORT' },
  ]);

  // The database server (its own process) and the relay's capture writer keep their files owner-only themselves.
  prepareDataDir(dataDir);
  const secret = localSecret(dataDir);
  const dbToken = localDbToken(dataDir);
  const stops: Stopper[] = [];
  let stopping: Promise<void> | null = null;
  const stopAll = (code: number) => {
    stopping ??= (async () => {
      // process.exit runs the 'exit' handlers, which SIGKILL every child group still there.
      setTimeout(() => {
        console.error(`npm start: not stopped after ${STOP_DEADLINE_MS / 1000} s; killing what is left`);
        process.exit(code || 1);
      }, STOP_DEADLINE_MS).unref();
      for (const stop of stops.reverse()) await stop().catch((e: unknown) => console.error(`npm start: while stopping: ${(e as Error).message}`));
      process.exit(code);
    })();
    return stopping;
  };
  // `on`, not `once`: a terminal's Ctrl-C reaches this process both directly and relayed by npm.
  process.on('SIGINT', () => void stopAll(0));
  process.on('SIGTERM', () => void stopAll(0));
  // npm killed (SIGKILL forwards nothing): stop as on SIGTERM rather than live on as an orphan.
  whenParentGone(() => {
    console.error('npm start: the process that started it is gone; stopping.');
    void stopAll(1);
  });

  try {
    // The database server runs in its own process: its synchronous libsql calls must never share an event
    // loop with the relay's probe timestamps (the instrument must be quieter than the network).
    const dbChild = startDbServer(dataDir, env.NETPOKE_DB_PORT);
    stops.push(() => stopGroup(dbChild));
    const hrana = { url: await dbServerUrl(dbChild) };
    const db = createClient({ url: hrana.url, authToken: dbToken });
    let admin: LocalAdmin;
    try {
      // The migration step (`npm run migrate` elsewhere): local mode migrates its own database before anything uses it.
      const applied = await migrate(db);
      if (applied.length) console.log(`npm start: applied migrations ${describeMigrations(applied)}`);
      await ensureDemoKey(db, env.NETPOKE_DEMO_KEY);
      admin = await ensureLocalAdmin(db, dataDir);
    } finally {
      db.close();
    }

    const edgeUrl = `http://127.0.0.1:${env.NETPOKE_EDGE_PORT}`;
    // Captures go to the edge's local R2 (under the data dir) once a survey stops; until the edge is up they wait and are retried.
    const relay: RelayHandle = await startRelay(
      relayConfigFromEnv({
        ...process.env,
        RELAY_BIND_ADDRESS: relayAt.bind,
        ...(relayAt.publicAddresses ? { RELAY_PUBLIC_ADDRESS: relayAt.publicAddresses } : {}),
        NETPOKE_MODE: 'local',
        LIBSQL_URL: hrana.url,
        LIBSQL_AUTH_TOKEN: dbToken,
        RELAY_SHARED_SECRET: secret,
        NETPOKE_DATA_DIR: dataDir,
        EDGE_URL: edgeUrl,
      }),
    );
    stops.push(() => relay.close());

    await buildPageIfPresent();

    const varsFile = join(dataDir, 'edge.dev.vars');
    writeSecretFile(varsFile, devVars({ LIBSQL_URL: hrana.url, LIBSQL_AUTH_TOKEN: dbToken, RELAY_SHARED_SECRET: secret, NETPOKE_MODE: 'local', NETPOKE_DEMO_KEY: env.NETPOKE_DEMO_KEY }));
    // Wrangler's local R2 (recordings, captures) is written by the child: it inherits this umask. Set only
    // now, so the page build above leaves the repo's files as they always were.
    ownerOnlyFromNowOn();
    const wrangler = startWrangler(env.NETPOKE_EDGE_PORT, varsFile, join(dataDir, 'wrangler'));
    stops.push(() => stopGroup(wrangler));
    wrangler.once('exit', (code, signal) => {
      if (stopping) return;
      console.error(`npm start: wrangler dev exited (${signal ?? `code ${code}`}); stopping.`);
      void stopAll(1);
    });
    await waitForHealth(`${edgeUrl}/health`, wrangler, 90_000);

    const key = encodeURIComponent(env.NETPOKE_DEMO_KEY);
    console.log(`
NetPoke is running (local mode)
  open      ${edgeUrl}/?key=${key}
  console   ${edgeUrl}/console — log in as ${admin.login} with the password in ${admin.passwordFile}${admin.password ? ` (${admin.password})` : ''}${admin.created ? '' : ' (if you changed it since, the file is out of date)'}
  headless  npm run probe -- --url ${edgeUrl} --key ${key} --duration 30s
  keys      npm run keys -- create --label "Site A" --ttl 48h
  data      ${dataDir} (database on ${hrana.url}, token in db-token; relay ${relay.relayId} on ${relay.url} + UDP ${relay.udpPort})
Ctrl-C stops everything.
`);
  } catch (e) {
    console.error(`npm start: ${(e as Error).message}`);
    await stopAll(1);
  }
}

function devVars(vars: Record<string, string>): string {
  return Object.entries(vars)
    .map(([k, v]) => `${k}=${JSON.stringify(v)}\n`)
    .join('');
}

/** Builds the page bundle into edge/assets when the page's build script exists; wrangler needs the directory either way. */
async function buildPageIfPresent(): Promise<void> {
  const script = join(ROOT, 'page/build.ts');
  if (existsSync(script)) {
    const mod = (await import(pathToFileURL(script).href)) as { buildPage?: () => Promise<unknown> };
    if (typeof mod.buildPage === 'function') {
      await mod.buildPage();
      return;
    }
    console.warn('npm start: page/build.ts exports no buildPage(); serving whatever is in edge/assets.');
  }
  mkdirSync(join(ROOT, 'edge/assets'), { recursive: true });
}

/**
 * Starts `local/db-main.ts` (the libSQL file over Hrana on loopback) as a child process group: a group of its
 * own so a terminal's Ctrl-C reaches it only through this process, after the relay has written its last rows;
 * an IPC channel it watches, so it ends if this process dies without stopping it.
 */
function startDbServer(dataDir: string, port: number): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'local/db-main.ts')], {
    cwd: ROOT,
    detached: true,
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
    env: { ...process.env, NETPOKE_DATA_DIR: dataDir, NETPOKE_DB_PORT: String(port) },
  });
  process.once('exit', () => signalGroup(child, 'SIGKILL'));
  return child;
}

/** Resolves with the database server's URL once it says it listens; rejects if it exits first. */
function dbServerUrl(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => {
      out += chunk;
      const m = /libSQL \(local, loopback only\) at (\S+);/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code, signal) => reject(new StartError(`the database server exited (${signal ?? `code ${code}`}) before it was ready`)));
  });
}

/**
 * wrangler dev, under local/group-guard.ts: wrangler (not ours: it cannot
 * watch this process) runs in a process group of its own with its workerd
 * and esbuild, and the guard ends that group when told to (SIGTERM) or when
 * this process is gone. The returned process is the guard; its exit is
 * wrangler's. Its local R2 (recordings, captures) persists under `persistDir`.
 * With --test-scheduled, GET /__scheduled runs the cron trigger's work (`npm run sweep`), which wrangler dev never runs by itself.
 */
function startWrangler(edgePort: number, varsFile: string, persistDir: string): ChildProcess {
  const wranglerArgs = ['dev', '--ip', '127.0.0.1', '--port', String(edgePort), '--env-file', varsFile, '--persist-to', persistDir, '--test-scheduled', '--show-interactive-dev-session=false', '--log-level', 'warn'];
  const guard = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'local/group-guard.ts'), join(ROOT, 'node_modules/.bin/wrangler'), ...wranglerArgs], {
    cwd: ROOT,
    detached: true,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    // Offline-safe: no metrics, and no fetch of Cloudflare's `request.cf` sample (the edge works with the placeholder).
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false' },
  });
  // The guard names wrangler's group: if this process exits before the guard has ended it, it is killed here too.
  let wranglerGroup: number | undefined;
  guard.on('message', (m: { group?: unknown }) => {
    if (typeof m.group === 'number') wranglerGroup = m.group;
  });
  process.once('exit', () => {
    signalGroup(guard, 'SIGKILL');
    if (wranglerGroup !== undefined) killGroupId(wranglerGroup, 'SIGKILL');
  });
  return guard;
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  killGroupId(child.pid, signal);
}

function killGroupId(group: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-group, signal);
  } catch {
    // Already gone.
  }
}

/** SIGTERM to a child's group, and SIGKILL if it has not exited in 3 s (the whole stop must fit in 5 s). */
async function stopGroup(child: ChildProcess): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  signalGroup(child, 'SIGTERM');
  const timer = setTimeout(() => signalGroup(child, 'SIGKILL'), 3_000);
  await exited;
  clearTimeout(timer);
  // Anything of the group that outlived its leader goes too.
  killGroupId(child.pid, 'SIGKILL');
}

async function waitForHealth(url: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  let exited = false;
  child.once('exit', () => (exited = true));
  while (Date.now() < end) {
    if (exited) throw new StartError('wrangler dev exited before the edge answered');
    try {
      const resp = await fetch(url, { signal: AbortSignal.timeout(1_000) });
      const body = (await resp.json().catch(() => null)) as { ok?: unknown; error?: { message?: string } } | null;
      if (resp.ok && body?.ok === true) return;
      if (body?.error) throw new StartError(`the edge answers /health with an error: ${body.error.message}`);
    } catch (e) {
      if (e instanceof StartError) throw e;
      // Not listening yet.
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new StartError(`the edge did not answer ${url} within ${timeoutMs / 1000} s`);
}

interface PortNeed {
  port: number;
  proto: 'tcp' | 'udp';
  what: string;
  moveWith: string;
  host?: string;
}

/** Fails, naming every busy port and the variable that moves it, before anything starts. */
async function assertPortsFree(needs: PortNeed[]): Promise<void> {
  const busy: string[] = [];
  for (const n of needs) {
    const host = n.host ?? '127.0.0.1';
    const free = await (n.proto === 'tcp' ? tcpFree(n.port, host) : udpFree(n.port, host));
    if (!free) busy.push(`  ${n.proto.toUpperCase()} ${host}:${n.port} (${n.what}) is in use — stop what holds it (another npm start?) or set ${n.moveWith}`);
  }
  if (busy.length) throw new StartError(`cannot start, ports busy:\n${busy.join('\n')}`);
}

function tcpFree(p: number, host: string): Promise<boolean> {
  return new Promise((done) => {
    const server = createServer();
    server.once('error', () => done(false));
    server.listen(p, host, () => server.close(() => done(true)));
  });
}

function udpFree(p: number, host: string): Promise<boolean> {
  return new Promise((done) => {
    const sock = createSocket(host.includes(':') ? 'udp6' : 'udp4');
    sock.once('error', () => {
      try {
        sock.close();
      } catch {
        // Never bound.
      }
      done(false);
    });
    sock.bind(p, host, () => sock.close(() => done(true)));
  });
}

try {
  await main();
} catch (e) {
  console.error(e instanceof ConfigError || e instanceof StartError ? `npm start: ${e.message}` : e);
  process.exit(1);
}
