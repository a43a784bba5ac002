// `npm run users` as a child process against a temp data dir (the local libSQL file): create, list, passwd,
// disable/enable, grant/withdraw, and refusals that change nothing.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createClient, type Client } from '@libsql/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyPassword } from '../../shared/auth/password.js';
import { openAuthSession } from '../../shared/db/auth-sessions.js';
import { createMagicKey, type MagicKey } from '../../shared/db/keys.js';
import { migrate } from '../../shared/db/migrate.js';

const ROOT = resolve(import.meta.dirname, '../..');
const TSX = join(ROOT, 'node_modules/.bin/tsx');
const dataDir = mkdtempSync(join(tmpdir(), 'netpoke-users-'));
let db: Client;
let k1: MagicKey;
let k2: MagicKey;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `tsx cli/users.ts ...args` (what `npm run users -- ...` runs) on the temp data dir; `stdin` is piped in. */
function users(args: string[], stdin?: string): Promise<Run> {
  const env: NodeJS.ProcessEnv = { ...process.env, NETPOKE_DATA_DIR: dataDir };
  delete env.LIBSQL_URL;
  delete env.LIBSQL_AUTH_TOKEN;
  return new Promise((done) => {
    const child = execFile(TSX, ['cli/users.ts', ...args], { cwd: ROOT, env, timeout: 30_000 }, (err, stdout, stderr) => {
      done({ code: err ? Number((err as { code?: unknown }).code ?? 1) : 0, stdout, stderr });
    });
    child.stdin!.end(stdin ?? '');
  });
}

const row = async (login: string) => (await db.execute({ sql: 'SELECT * FROM users WHERE login = ?', args: [login] })).rows[0];
const grants = async (login: string) => (await db.execute({ sql: 'SELECT key_id FROM key_grants WHERE login = ? ORDER BY key_id', args: [login] })).rows.map((r) => String(r.key_id));

beforeAll(async () => {
  db = createClient({ url: pathToFileURL(join(dataDir, 'netpoke.db')).href });
  await migrate(db);
  k1 = await createMagicKey(db, { label: 'one' });
  k2 = await createMagicKey(db, { label: 'two' });
});

afterAll(() => {
  db?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('npm run users', () => {
  it('creates an analyst with keys and prints a generated password once, which verifies', async () => {
    const r = await users(['create', '--login', 'ana', '--role', 'analyst', '--keys', `${k1.key_id},${k2.key_id}`]);
    expect(r.code).toBe(0);
    const password = /password\s+(\S+)/.exec(r.stdout)?.[1];
    expect(password).toMatch(/^[A-Za-z0-9_-]{24}$/);
    const u = await row('ana');
    expect(u).toMatchObject({ login: 'ana', role: 'analyst', disabled_at: null });
    expect((await verifyPassword(password!, String(u!.password_hash))).ok).toBe(true);
    expect(r.stdout).not.toContain('pbkdf2');
    expect(await grants('ana')).toEqual([k1.key_id, k2.key_id].sort());
  });

  it('takes a password from stdin, and refuses a short one without creating anything', async () => {
    const short = await users(['create', '--login', 'bob', '--role', 'admin', '--password-stdin'], 'short\n');
    expect(short.code).toBe(2);
    expect(short.stderr).toMatch(/at least 10 characters/);
    expect(await row('bob')).toBeUndefined();
    const ok = await users(['create', '--login', 'bob', '--role', 'admin', '--password-stdin'], 'a long enough password\n');
    expect(ok.code).toBe(0);
    expect(ok.stdout).not.toMatch(/password\s+\S/);
    expect((await verifyPassword('a long enough password', String((await row('bob'))!.password_hash))).ok).toBe(true);
  });

  it('refuses a bad role, an unknown key_id and a taken login, changing nothing', async () => {
    expect((await users(['create', '--login', 'cy', '--role', 'root'])).code).toBe(2);
    const unknown = await users(['create', '--login', 'cy', '--role', 'analyst', '--keys', '0123456789abcdef']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/no key 0123456789abcdef/);
    expect(await row('cy')).toBeUndefined();
    const taken = await users(['create', '--login', 'ANA', '--role', 'admin']);
    expect(taken.code).toBe(1);
    expect((await row('ana'))!.role).toBe('analyst');
  });

  it('passwd sets a new password and ends the user\'s sessions', async () => {
    await openAuthSession(db, 'ana', 'password', { idleMs: 3_600_000, maxMs: 86_400_000 }, null);
    const r = await users(['passwd', '--login', 'ana', '--password-stdin'], 'another good password');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/1 session\(s\) ended/);
    expect((await verifyPassword('another good password', String((await row('ana'))!.password_hash))).ok).toBe(true);
    expect((await users(['passwd', '--login', 'nobody'])).code).toBe(1);
  });

  it('disables and enables; grants and withdraws keys', async () => {
    expect((await users(['disable', '--login', 'ana'])).code).toBe(0);
    expect((await row('ana'))!.disabled_at).not.toBeNull();
    expect((await users(['enable', '--login', 'ana'])).code).toBe(0);
    expect((await row('ana'))!.disabled_at).toBeNull();
    expect((await users(['withdraw', '--login', 'ana', '--keys', k1.key_id])).code).toBe(0);
    expect(await grants('ana')).toEqual([k2.key_id]);
    expect((await users(['grant', '--login', 'bob', '--keys', `${k1.key_id},${k2.key_id}`])).code).toBe(0);
    expect(await grants('bob')).toEqual([k1.key_id, k2.key_id].sort());
    expect((await users(['revoke-grant', '--login', 'bob', '--keys', k2.key_id])).code).toBe(0);
    expect(await grants('bob')).toEqual([k1.key_id]);
    const unknown = await users(['grant', '--login', 'bob', '--keys', `${k2.key_id},0123456789abcdef`]);
    expect(unknown.code).toBe(1);
    expect(await grants('bob')).toEqual([k1.key_id]);
  });

  it('lists users with role, state and keys, as a table and as JSON', async () => {
    const table = await users(['list']);
    expect(table.stdout).toMatch(/^LOGIN\s+ROLE\s+STATE\s+KEYS/m);
    expect(table.stdout).toMatch(new RegExp(`^ana\\s+analyst\\s+active\\s+${k2.key_id}`, 'm'));
    const json = JSON.parse((await users(['list', '--json'])).stdout) as { login: string; role: string; keys: string[] }[];
    expect(json.map((u) => [u.login, u.role, u.keys])).toEqual([
      ['ana', 'analyst', [k2.key_id]],
      ['bob', 'admin', [k1.key_id]],
    ]);
  });
});
