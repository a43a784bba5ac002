// The explicit migration step (issue 19 item 6): against a database one migration behind, a relay (in process and
// as `relay/main.ts`) and the keys CLI refuse to start with words and change nothing, the edge in workerd answers
// 503 schema_behind, and `npm run migrate` (cli/migrate.ts) brings it current; the edge reads the version once per
// isolate and turns a missing table into schema_behind.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createClient, type Client } from '@libsql/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHranaServer, type HranaServer } from '../../local/hrana-server.js';
import { createMagicKey, type MagicKey } from '../../shared/db/keys.js';
import { migrate } from '../../shared/db/migrate.js';
import { MIGRATIONS } from '../../shared/db/migrations.js';
import { SCHEMA_VERSION } from '../../shared/db/schema-version.js';
import { randomToken } from '../../shared/ids.js';
import { startTestEdge, type TestEdge } from '../helpers/edge.js';
import { freeUdpPort, startTestRelay, TEST_SECRET, type TestDb } from '../helpers/system.js';

const ROOT = resolve(import.meta.dirname, '../..');
const NEWEST = MIGRATIONS.find((m) => m.version === SCHEMA_VERSION)!;
const PREVIOUS = Math.max(...MIGRATIONS.filter((m) => m !== NEWEST).map((m) => m.version));
const BEHIND = (who: string) => `database schema is at ${PREVIOUS}, this ${who} needs ${SCHEMA_VERSION}: run npm run migrate`;

let dir: string;
let server: HranaServer;
let db: Client;
let authToken: string;
let edge: TestEdge;
let key: MagicKey;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a TypeScript entry point of the repo with node + tsx, as its npm script does, against the test database (`undefined` in `env` unsets). */
function runTs(script: string, args: string[] = [], env: Record<string, string | undefined> = {}): Promise<Run> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', join(ROOT, script), ...args],
      { cwd: ROOT, timeout: 30_000, env: { ...process.env, LIBSQL_URL: server.url, LIBSQL_AUTH_TOKEN: authToken, NETPOKE_DATA_DIR: dir, ...env } },
      (err, stdout, stderr) => done({ code: err ? Number((err as { code?: unknown }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

const versions = async () => (await db.execute('SELECT version FROM schema_migrations ORDER BY version')).rows.map((r) => Number(r.version));
const iceServers = () => fetch(`${edge.url}/api/ice-servers?key=${encodeURIComponent(key.key)}`);
async function errorOf(resp: Response): Promise<{ status: number; code: string; message: string }> {
  const body = (await resp.json()) as { error?: { code: string; message: string } };
  return { status: resp.status, code: body.error?.code ?? '(none)', message: body.error?.message ?? '' };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'netpoke-schema-'));
  authToken = randomToken(24);
  server = await startHranaServer({ dbPath: join(dir, 'netpoke.db'), authToken });
  db = createClient({ url: server.url, authToken });
  // Every migration but the newest: the database a deploy of this code meets before `npm run migrate`.
  await migrate(db, MIGRATIONS.filter((m) => m !== NEWEST));
  key = await createMagicKey(db, { label: 'schema' });
  edge = await startTestEdge({ libsqlUrl: server.url, libsqlAuthToken: authToken });
}, 60_000);

afterAll(async () => {
  await edge?.close();
  db?.close();
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('a database one migration behind', () => {
  it('a relay refuses to start, in process and as relay/main.ts, with words, and migrates nothing', async () => {
    const testDb = { url: server.url, authToken, dir } as TestDb;
    await expect(startTestRelay(testDb)).rejects.toThrow(BEHIND('relay'));

    const main = await runTs('relay/main.ts', [], { NETPOKE_MODE: 'local', RELAY_PORT: '0', RELAY_UDP_PORT: String(await freeUdpPort()), RELAY_SHARED_SECRET: TEST_SECRET, RELAY_ID: 'behind-1' });
    expect(main.code).toBe(1);
    expect(main.stderr).toContain(`relay: ${BEHIND('relay')}`);
    expect(await versions()).not.toContain(SCHEMA_VERSION);
    // It never registered either.
    expect((await db.execute({ sql: 'SELECT COUNT(*) AS n FROM relays WHERE id = ?', args: ['behind-1'] })).rows[0]!.n).toBe(0);
  }, 30_000);

  it('the keys CLI on LIBSQL_URL refuses with words and creates nothing', async () => {
    const r = await runTs('cli/keys.ts', ['create', '--label', 'nope', '--ttl', '1h']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`keys: ${BEHIND('CLI')}`);
    expect((await db.execute("SELECT COUNT(*) AS n FROM magic_keys WHERE label = 'nope'")).rows[0]!.n).toBe(0);
    expect(await versions()).not.toContain(SCHEMA_VERSION);
  }, 30_000);

  it('the edge answers 503 schema_behind with words, and keeps answering it until the database is migrated', async () => {
    expect(await errorOf(await iceServers())).toEqual({ status: 503, code: 'schema_behind', message: BEHIND('edge') });
    expect(await errorOf(await iceServers())).toEqual({ status: 503, code: 'schema_behind', message: BEHIND('edge') });
  });

  it('npm run migrate applies the missing migration and says so; a second run applies nothing', async () => {
    const first = await runTs('cli/migrate.ts');
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain(`migrate: applied ${SCHEMA_VERSION} ${NEWEST.name} to the database at LIBSQL_URL; its schema is now at ${SCHEMA_VERSION}`);
    expect(first.stdout).not.toContain(server.url);
    expect(await versions()).toEqual(MIGRATIONS.map((m) => m.version).sort((a, b) => a - b));
    const again = await runTs('cli/migrate.ts');
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain(`migrate: nothing to apply; the database at LIBSQL_URL is at ${SCHEMA_VERSION}`);
  }, 30_000);

  it('after the migration the edge serves again (it re-checks after a failure) and a relay starts', async () => {
    const resp = await iceServers();
    expect(resp.status, await resp.clone().text()).toBe(200);
    expect((await resp.json()) as unknown).toHaveProperty('ice_servers');
    const relay = await startTestRelay({ url: server.url, authToken, dir } as TestDb);
    await relay.close();
  }, 30_000);

  it('the edge reads the version once per isolate, and a missing table becomes schema_behind (then it reads again)', async () => {
    // Found current once: taking the newest row away is not seen by the next request (no read per request).
    await db.execute({ sql: 'DELETE FROM schema_migrations WHERE version = ?', args: [SCHEMA_VERSION] });
    expect((await iceServers()).status).toBe(200);

    // A table the edge queries goes missing: the query's "no such table" is answered as schema_behind, in words.
    await db.execute('ALTER TABLE key_failures RENAME TO key_failures_away');
    expect(await errorOf(await iceServers())).toEqual({
      status: 503,
      code: 'schema_behind',
      message: 'database schema is older than this edge (no such table: key_failures): run npm run migrate',
    });
    await db.execute('ALTER TABLE key_failures_away RENAME TO key_failures');
    // The good result was forgotten: the next request reads the version again and finds the newest row missing.
    expect(await errorOf(await iceServers())).toEqual({ status: 503, code: 'schema_behind', message: BEHIND('edge') });
    // The row back (its statements are still applied, so migrating again would fail on the existing columns).
    await db.execute({ sql: 'INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)', args: [SCHEMA_VERSION, NEWEST.name, Date.now()] });
    expect((await iceServers()).status).toBe(200);
  }, 30_000);
});

describe('local mode', () => {
  it('the CLIs migrate the local default file themselves, and npm run migrate on it has nothing left to do', async () => {
    const local = mkdtempSync(join(tmpdir(), 'netpoke-schema-local-'));
    try {
      const r = await runTs('cli/keys.ts', ['list', '--json'], { LIBSQL_URL: undefined, LIBSQL_AUTH_TOKEN: undefined, NETPOKE_DATA_DIR: local });
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toEqual([]);
      const m = await runTs('cli/migrate.ts', [], { LIBSQL_URL: undefined, LIBSQL_AUTH_TOKEN: undefined, NETPOKE_DATA_DIR: local });
      expect(m.code, m.stderr).toBe(0);
      expect(m.stdout).toContain(`migrate: nothing to apply; the local database in ${local} is at ${SCHEMA_VERSION}`);
    } finally {
      rmSync(local, { recursive: true, force: true });
    }
  }, 30_000);
});
