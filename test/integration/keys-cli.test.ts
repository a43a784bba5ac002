// `npm run keys` as a child process against a temp data dir (the local libSQL file): create, list, revoke, and refusals.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it, onTestFinished } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const TSX = join(ROOT, 'node_modules/.bin/tsx');
const dataDir = mkdtempSync(join(tmpdir(), 'netpoke-keys-'));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `tsx cli/keys.ts ...args` (what `npm run keys -- ...` runs) with the temp data dir and no LIBSQL_URL. */
function keys(...args: string[]): Promise<Run> {
  return keysWith({}, ...args);
}

/** As keys(), with `vars` added to the environment. */
function keysWith(vars: Record<string, string>, ...args: string[]): Promise<Run> {
  const env: NodeJS.ProcessEnv = { ...process.env, NETPOKE_DATA_DIR: dataDir, ...vars };
  delete env.LIBSQL_URL;
  delete env.LIBSQL_AUTH_TOKEN;
  if (!('NETPOKE_EDGE_PORT' in vars)) delete env.NETPOKE_EDGE_PORT;
  if (!('NETPOKE_PUBLIC_URL' in vars)) delete env.NETPOKE_PUBLIC_URL;
  return new Promise((done) => {
    execFile(TSX, ['cli/keys.ts', ...args], { cwd: ROOT, env, timeout: 30_000 }, (err, stdout, stderr) => {
      done({ code: err ? Number((err as { code?: unknown }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

interface ListedKey {
  key: string;
  label: string;
  state: string;
  expires_at: number | null;
  max_measuring_ms: number | null;
  max_concurrent_sessions: number | null;
}

async function listJson(): Promise<ListedKey[]> {
  const r = await keys('list', '--json');
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as ListedKey[];
}

afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

describe('npm run keys', () => {
  let siteA: ListedKey;

  it('creates a key with its limits, and list shows it valid', async () => {
    const before = Date.now();
    const r = await keys('create', '--label', 'Site A', '--ttl', '48h', '--max-minutes', '10', '--max-sessions', '3', '--json');
    expect(r.code, r.stderr).toBe(0);
    siteA = JSON.parse(r.stdout) as ListedKey;
    expect(siteA).toMatchObject({ label: 'Site A', state: 'valid', max_measuring_ms: 600_000, max_concurrent_sessions: 3 });
    expect(siteA.expires_at! - before).toBeGreaterThanOrEqual(48 * 3_600_000 - 1000);
    expect(siteA.expires_at! - Date.now()).toBeLessThanOrEqual(48 * 3_600_000);
    // At least 40 unguessable characters after the prefix.
    expect(siteA.key).toMatch(/^np_[A-Za-z0-9_-]{40,}$/);

    const listed = await listJson();
    expect(listed.find((k) => k.key === siteA.key)).toMatchObject({ label: 'Site A', state: 'valid' });
    const table = await keys('list');
    expect(table.stdout).toContain(siteA.key);
    expect(table.stdout).toContain('Site A');
  });

  it('prints the key and a local share link in human form; two keys differ', async () => {
    const r = await keys('create', '--label', 'Site B', '--ttl', 'never');
    expect(r.code, r.stderr).toBe(0);
    const key = /key\s+(np_\S+)/.exec(r.stdout)?.[1];
    expect(key).toMatch(/^np_[A-Za-z0-9_-]{40,}$/);
    expect(key).not.toBe(siteA.key);
    expect(r.stdout).toContain(`http://127.0.0.1:8787/?key=${key}`);
    expect((await listJson()).find((k) => k.key === key)).toMatchObject({ label: 'Site B', expires_at: null, state: 'valid' });
  });

  it('a key created without --max-sessions carries the default, 4, or KEY_DEFAULT_MAX_CONCURRENT_SESSIONS (0: none)', async () => {
    // A data dir of its own, so the other tests' key lists stay as they expect.
    const own = mkdtempSync(join(tmpdir(), 'netpoke-keys-defaults-'));
    onTestFinished(() => rmSync(own, { recursive: true, force: true }));
    const created = async (vars: Record<string, string>) => {
      const r = await keysWith({ NETPOKE_DATA_DIR: own, ...vars }, 'create', '--label', 'Default', '--ttl', '1h', '--json');
      expect(r.code, r.stderr).toBe(0);
      return (JSON.parse(r.stdout) as ListedKey).max_concurrent_sessions;
    };
    expect(await created({})).toBe(4);
    expect(await created({ KEY_DEFAULT_MAX_CONCURRENT_SESSIONS: '7' })).toBe(7);
    expect(await created({ KEY_DEFAULT_MAX_CONCURRENT_SESSIONS: '0' })).toBeNull();
    const bad = await keysWith({ NETPOKE_DATA_DIR: own, KEY_DEFAULT_MAX_CONCURRENT_SESSIONS: 'many' }, 'create', '--label', 'X', '--ttl', '1h');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('KEY_DEFAULT_MAX_CONCURRENT_SESSIONS');
  });

  it('revokes a key; list then shows it revoked', async () => {
    const r = await keys('revoke', siteA.key);
    expect(r.code, r.stderr).toBe(0);
    expect((await listJson()).find((k) => k.key === siteA.key)?.state).toBe('revoked');
  });

  it('refuses bad arguments with exit code 2 and a message naming the problem', async () => {
    const cases: [string[], string][] = [
      [['create', '--ttl', '48h'], '--label'],
      [['create', '--label', 'X'], '--ttl'],
      [['create', '--label', 'X', '--ttl', 'soon'], '--ttl'],
      [['create', '--label', 'X', '--ttl', '1h', '--max-sessions', '0'], '--max-sessions'],
      [['create', '--label', 'X', '--ttl', '1h', '--max-minutes', 'ten'], '--max-minutes'],
      [['create', '--label', 'X', '--ttl', '1h', '--colour', 'red'], 'colour'],
      [['revoke'], 'KEY'],
      [['frobnicate'], 'frobnicate'],
      [[], 'command is required'],
    ];
    const runs = await Promise.all(cases.map(([args]) => keys(...args)));
    for (const [i, r] of runs.entries()) {
      const [args, mentions] = cases[i]!;
      expect({ args, code: r.code, names: r.stderr.includes(mentions), usage: r.stderr.includes('usage') }).toEqual({ args, code: 2, names: true, usage: true });
    }
    // Nothing was created by the refused calls.
    expect((await listJson()).map((k) => k.label).sort()).toEqual(['Site A', 'Site B']);
  });

  it('revoking an unknown key fails with exit code 1', async () => {
    const r = await keys('revoke', 'np_no-such-key');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('no such key');
  });

  it('the local share link names the edge port npm start uses (NETPOKE_EDGE_PORT); NETPOKE_PUBLIC_URL wins', async () => {
    const moved = await keysWith({ NETPOKE_EDGE_PORT: '18787' }, 'create', '--label', 'Site C', '--ttl', '1h');
    expect(moved.code, moved.stderr).toBe(0);
    const key = /key\s+(np_\S+)/.exec(moved.stdout)?.[1];
    expect(moved.stdout).toContain(`  link     http://127.0.0.1:18787/?key=${key}`);
    const pub = await keysWith({ NETPOKE_EDGE_PORT: '18787', NETPOKE_PUBLIC_URL: 'https://surveys.example.org/' }, 'create', '--label', 'Site D', '--ttl', '1h');
    const pubKey = /key\s+(np_\S+)/.exec(pub.stdout)?.[1];
    expect(pub.stdout).toContain(`  link     https://surveys.example.org/?key=${pubKey}`);
    const bad = await keysWith({ NETPOKE_EDGE_PORT: 'eighty' }, 'list');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('NETPOKE_EDGE_PORT');
  });
});
