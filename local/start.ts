// `npm start`: the whole system on this machine, in local mode: the libSQL file served over HTTP on
// loopback, the database server in a process of its own, one relay in this process, and the edge under `wrangler dev`. Ctrl-C stops all three.
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
import { migrate } from '../shared/db/migrate.js';
import { relayConfigFromEnv } from '../relay/config.js';
import { startRelay, type RelayHandle } from '../relay/relay.js';
import { localDbToken, localSecret, writeSecretFile } from './secrets.js';
import { ensureLocalAdmin, type LocalAdmin } from './admin-account.js';

const ROOT = resolve(import.meta.dirname, '..');
const port = z.coerce.number().int().min(1).max(65535);

const StartEnvSchema = z.object({
  NETPOKE_DATA_DIR: z.string().min(1).default('./data'),
  NETPOKE_DB_PORT: port.default(8080),
  NETPOKE_EDGE_PORT: port.default(8787),
  NETPOKE_DEMO_KEY: z.string().regex(/^[A-Za-z0-9_.~-]{1,256}$/, 'letters, digits, _ . ~ - only').default('demo'),
  RELAY_PORT: port.default(8790),
  RELAY_UDP_PORT: port.default(50000),
  RELAY_BIND_ADDRESS: z.string().min(1).default('127.0.0.1'),
});

/** A stop that ends everything started so far, in reverse order. */
type Stopper = () => Promise<void>;

class StartError extends Error {}

async function main(): Promise<void> {
  const env = parseConfig(StartEnvSchema, process.env);
  const dataDir = resolve(env.NETPOKE_DATA_DIR);
  if (process.env.LIBSQL_URL) console.warn(`npm start: ignoring LIBSQL_URL (local mode keeps its database in ${dataDir}); set it for npm run relay / keys instead.`);

  await assertPortsFree([
    { port: env.NETPOKE_DB_PORT, proto: 'tcp', what: 'the local database server', moveWith: 'NETPOKE_DB_PORT' },
    { port: env.RELAY_PORT, proto: 'tcp', what: "the relay's internal API", moveWith: 'RELAY_PORT' },
    { port: env.RELAY_UDP_PORT, proto: 'udp', what: "the relay's WebRTC (ICE) port", moveWith: 'RELAY_UDP_PORT', host: env.RELAY_BIND_ADDRESS },
    { port: env.NETPOKE_EDGE_PORT, proto: 'tcp', what: 'the edge (wrangler dev)', moveWith: 'NETPOKE_EDGE_PORT' },
  ]);

  mkdirSync(dataDir, { recursive: true });
  const secret = localSecret(dataDir);
  const dbToken = localDbToken(dataDir);
  const stops: Stopper[] = [];
  let stopping: Promise<void> | null = null;
  const stopAll = (code: number) => {
    stopping ??= (async () => {
      for (const stop of stops.reverse()) await stop().catch((e: unknown) => console.error(`npm start: while stopping: ${(e as Error).message}`));
      process.exit(code);
    })();
    return stopping;
  };
  // `on`, not `once`: a terminal's Ctrl-C reaches this process both directly and relayed by tsx.
  process.on('SIGINT', () => void stopAll(0));
  process.on('SIGTERM', () => void stopAll(0));

  try {
    // The database server runs in its own process: its synchronous libsql calls must never share an event
    // loop with the relay's probe timestamps (the instrument must be quieter than the network).
    const dbChild = startDbServer(dataDir, env.NETPOKE_DB_PORT);
    stops.push(() => stopGroup(dbChild));
    const hrana = { url: await dbServerUrl(dbChild) };
    const db = createClient({ url: hrana.url, authToken: dbToken });
    let admin: LocalAdmin;
    try {
      await migrate(db);
      await ensureDemoKey(db, env.NETPOKE_DEMO_KEY);
      admin = await ensureLocalAdmin(db, dataDir);
    } finally {
      db.close();
    }

    const edgeUrl = `http://127.0.0.1:${env.NETPOKE_EDGE_PORT}`;
    // Captures go to the edge's local R2 (under the data dir) once a survey stops; until the edge is up they wait and are retried.
    const relay: RelayHandle = await startRelay(
      relayConfigFromEnv({ ...process.env, LIBSQL_URL: hrana.url, LIBSQL_AUTH_TOKEN: dbToken, RELAY_SHARED_SECRET: secret, NETPOKE_DATA_DIR: dataDir, EDGE_URL: edgeUrl }),
    );
    stops.push(() => relay.close());

    await buildPageIfPresent();

    const varsFile = join(dataDir, 'edge.dev.vars');
    writeSecretFile(varsFile, devVars({ LIBSQL_URL: hrana.url, LIBSQL_AUTH_TOKEN: dbToken, RELAY_SHARED_SECRET: secret, NETPOKE_MODE: 'local', NETPOKE_DEMO_KEY: env.NETPOKE_DEMO_KEY }));
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
 * `wrangler dev` in its own process group, so that stopping it also stops
 * the workerd and esbuild processes it starts (no orphans).
 */
/** Starts `local/db-main.ts` (the libSQL file over Hrana on loopback) as a child process group. */
function startDbServer(dataDir: string, port: number): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'local/db-main.ts')], {
    cwd: ROOT,
    detached: true,
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, NETPOKE_DATA_DIR: dataDir, NETPOKE_DB_PORT: String(port) },
  });
  process.once('exit', () => signalGroup(child, 'SIGKILL'));
  return child;
}

/** Resolves with the database server's URL once it says it listens (migrations done); rejects if it exits first. */
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
 * wrangler dev; its local R2 (recordings, captures) persists under `persistDir` in the data dir. With
 * --test-scheduled, GET /__scheduled runs the cron trigger's work (`npm run sweep`), which wrangler dev never runs by itself.
 */
function startWrangler(edgePort: number, varsFile: string, persistDir: string): ChildProcess {
  const child = spawn(
    join(ROOT, 'node_modules/.bin/wrangler'),
    ['dev', '--ip', '127.0.0.1', '--port', String(edgePort), '--env-file', varsFile, '--persist-to', persistDir, '--test-scheduled', '--show-interactive-dev-session=false', '--log-level', 'warn'],
    {
      cwd: ROOT,
      detached: true,
      stdio: ['ignore', 'inherit', 'inherit'],
      // Offline-safe: no metrics, and no fetch of Cloudflare's `request.cf` sample (the edge works with the placeholder).
      env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false' },
    },
  );
  // If this process dies without stopping it, take the group down too.
  process.once('exit', () => signalGroup(child, 'SIGKILL'));
  return child;
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // Already gone.
  }
}

async function stopGroup(child: ChildProcess): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  signalGroup(child, 'SIGTERM');
  const timer = setTimeout(() => signalGroup(child, 'SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
  // wrangler may exit before its workerd does: make sure nothing of the group is left.
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // The group is empty.
  }
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
