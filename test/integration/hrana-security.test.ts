// The local database server against a web page its user happens to visit, and against SQL that
// reaches for other files: every refusal, and that the refused request changed nothing.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient, LibsqlError, type Client } from '@libsql/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHranaServer, type HranaServer } from '../../local/hrana-server.js';
import { refusedSql } from '../../local/sql-guard.js';

const dir = mkdtempSync(join(tmpdir(), 'netpoke-hrana-sec-'));
const TOKEN = 'test-db-token-abcdefghijklmnop';
let server: HranaServer;
let db: Client;

beforeAll(async () => {
  server = await startHranaServer({ dbPath: join(dir, 'main.db'), authToken: TOKEN });
  db = createClient({ url: server.url, authToken: TOKEN });
  await db.execute('CREATE TABLE notes (t TEXT)');
});

afterAll(async () => {
  db.close();
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A pipeline that would create a table, sent with exactly the given headers (node:http, so Host can be set). */
function post(headers: Record<string, string>, sql = 'CREATE TABLE planted (x)'): Promise<{ status: number; body: { message?: string; code?: string } }> {
  const body = JSON.stringify({ requests: [{ type: 'execute', stmt: { sql } }, { type: 'close' }] });
  const { port } = new URL(server.url);
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/v2/pipeline', headers: { 'content-type': 'text/plain', ...headers } }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as { message?: string; code?: string } }));
    });
    req.once('error', reject);
    req.end(body);
  });
}

async function tables(): Promise<string[]> {
  const rs = await db.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name");
  return rs.rows.map((r) => String(r.name));
}

const bearer = { authorization: `Bearer ${TOKEN}` };

describe('who may talk to the local database server', () => {
  it('no token, or a wrong one: 401 in the shape clients read, and nothing runs', async () => {
    expect(await post({})).toMatchObject({ status: 401, body: { code: 'UNAUTHORIZED', message: expect.stringContaining('token') } });
    expect((await post({ authorization: `Bearer ${TOKEN}x` })).status).toBe(401);
    expect((await post({ authorization: TOKEN })).status).toBe(401);
    const noToken = createClient({ url: server.url });
    const err = await noToken.execute('SELECT 1').catch((e: unknown) => e);
    noToken.close();
    expect(err).toBeInstanceOf(LibsqlError);
    expect((err as LibsqlError).code).toBe('UNAUTHORIZED');
    expect(await tables()).toEqual(['notes']);
  });

  it('a request from a web page (any Origin header) is refused even with the right token', async () => {
    for (const origin of ['https://evil.example', 'http://127.0.0.1:8787', 'null']) {
      expect(await post({ ...bearer, origin })).toMatchObject({ status: 403, body: { code: 'FORBIDDEN' } });
    }
    expect(await tables()).toEqual(['notes']);
  });

  it('a Host that is not loopback (a DNS-rebinding name) is refused; 127.0.0.1, localhost and [::1] on any port are served', async () => {
    for (const host of ['evil.example', `rebind.evil.example:${server.port}`, '127.0.0.1.evil.example', '10.0.0.1:8080']) {
      expect(await post({ ...bearer, host })).toMatchObject({ status: 403, body: { code: 'FORBIDDEN', message: expect.stringContaining('Host') } });
    }
    expect(await tables()).toEqual(['notes']);
    for (const host of ['127.0.0.1', `localhost:${server.port}`, 'LOCALHOST', '[::1]:8080']) {
      const ok = await post({ ...bearer, host }, 'SELECT 1');
      expect({ host, status: ok.status }).toEqual({ host, status: 200 });
    }
  });

  it('the reported attack, a cross-origin text/plain POST of ATTACH, is refused and writes no file', async () => {
    const file = join(dir, 'dropped.db');
    const attack = `ATTACH DATABASE '${file}' AS x`;
    expect((await post({ origin: 'https://evil.example' }, attack)).status).toBe(403);
    expect((await post({ origin: 'https://evil.example', ...bearer }, attack)).status).toBe(403);
    expect((await post({}, attack)).status).toBe(401);
    expect(existsSync(file)).toBe(false);
  });

  it('the right token from a plain client works', async () => {
    await db.execute({ sql: 'INSERT INTO notes VALUES (?)', args: ['hello'] });
    expect((await db.execute('SELECT t FROM notes')).rows.map((r) => r.t)).toEqual(['hello']);
  });
});

describe('SQL that reaches other files is never run', () => {
  const target = join(dir, 'attached.db');
  const attempts = [
    `ATTACH DATABASE '${target}' AS other`,
    `aTtAcH '${target}' AS other`,
    `/* harmless */ attach/**/'${target}' as other`,
    `-- a comment\nATTACH\t'${target}' AS other`,
    `SELECT 'it''s fine'; ATTACH '${target}' AS other`,
    `SELECT "a""b" AS [x]; ATTACH '${target}' AS other`,
    `VACUUM INTO '${target}'`,
    `vacuum main into '${target}'`,
  ];

  it('ATTACH and VACUUM INTO, in any case, after comments or strings: SQLITE_AUTH, and no file appears', async () => {
    for (const sql of attempts) {
      const err = await db.execute(sql).catch((e: unknown) => e);
      expect({ sql, code: (err as LibsqlError).code }).toEqual({ sql, code: 'SQLITE_AUTH' });
      // The same through a multi-statement sequence and a batch.
      const seq = await db.executeMultiple(`CREATE TABLE IF NOT EXISTS x (a); ${sql}`).catch((e: unknown) => e);
      expect((seq as LibsqlError).code).toBe('SQLITE_AUTH');
      const batch = await db.batch(['SELECT 1', sql], 'write').catch((e: unknown) => e);
      expect((batch as LibsqlError).code).toBe('SQLITE_AUTH');
    }
    expect(existsSync(target)).toBe(false);
    const attached = await db.execute('PRAGMA database_list');
    expect(attached.rows.map((r) => r.name)).toEqual(['main']);
    expect(await tables()).toEqual(['notes']);
  });

  it('DETACH is refused too, and SQL cannot load extensions', async () => {
    expect(((await db.execute('DETACH other').catch((e: unknown) => e)) as LibsqlError).code).toBe('SQLITE_AUTH');
    const load = await db.execute(`SELECT load_extension('${join(dir, 'nope')}')`).catch((e: unknown) => e);
    expect(load).toBeInstanceOf(LibsqlError);
    expect((load as LibsqlError).message).toMatch(/not authorized/);
  });

  it('the same words inside strings, quoted names and comments are just text', async () => {
    await db.execute(`CREATE TABLE words ("attach" TEXT, [vacuum] TEXT, \`detach\` TEXT) -- attach`);
    await db.execute({ sql: "INSERT INTO words VALUES ('attach', 'VACUUM INTO x', ?) /* detach */", args: ['detach'] });
    const rs = await db.execute('SELECT "attach" AS a, [vacuum] AS v, `detach` AS d FROM words');
    expect(rs.rows.map((r) => [r.a, r.v, r.d])).toEqual([['attach', 'VACUUM INTO x', 'detach']]);
    await db.execute('DROP TABLE words');
  });
});

describe('refusedSql follows SQLite token rules', () => {
  it.each([
    ['SELECT 1', false],
    ["SELECT 'attach'", false],
    ["SELECT 'it''s; attach'", false],
    ['SELECT "x"" attach"', false],
    ['SELECT [attach ]', false],
    ['SELECT attached FROM t', false],
    ['SELECT 1 -- attach', false],
    ['SELECT 1 /* attach */', false],
    ['SELECT 1 /* unterminated attach', false],
    ["SELECT x'00' attach", true],
    ['SELECT 1;ATTACH', true],
    ["SELECT 1 --x\rATTACH 'f' AS g", false], // \r does not end a -- comment in SQLite either
    ["SELECT 1 --x\nATTACH 'f' AS g", true],
    ["SELECT '", false],
    ['/**/DeTaCh x', true],
    ['SELECT 1\0; ATTACH', true],
  ])('%j refused: %s', (sql, refused) => {
    expect(refusedSql(sql) !== null).toBe(refused);
  });
});
