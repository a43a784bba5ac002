import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient, LibsqlError, type Client } from '@libsql/client';
import { createClient as createWebClient } from '@libsql/client/web';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHranaServer, type HranaServer } from '../../local/hrana-server.js';

const dir = mkdtempSync(join(tmpdir(), 'netpoke-hrana-'));
const TOKEN = 'test-db-token-0123456789';
const auth = { authorization: `Bearer ${TOKEN}` };
let server: HranaServer;
let db: Client;

beforeAll(async () => {
  server = await startHranaServer({ dbPath: join(dir, 'sub', 'test.db'), authToken: TOKEN, streamIdleMs: 2_000, lockWaitMs: 3_000 });
  db = createClient({ url: server.url, authToken: TOKEN, intMode: 'bigint' });
  await db.execute('CREATE TABLE vals (id INTEGER PRIMARY KEY, i INTEGER, f REAL, t TEXT, b BLOB, n)');
  await db.execute('CREATE TABLE counter (name TEXT PRIMARY KEY, n INTEGER NOT NULL)');
});

afterAll(async () => {
  db.close();
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('local Hrana-over-HTTP server with @libsql/client', () => {
  it('round-trips every value type, including 64-bit integers beyond 2^53', async () => {
    const ints = [9223372036854775807n, -9223372036854775808n, 9007199254740993n, 0n];
    for (const [k, i] of ints.entries()) {
      await db.execute({
        sql: 'INSERT INTO vals (id, i, f, t, b, n) VALUES (?, ?, ?, ?, ?, ?)',
        args: [k + 1, i, 1.25 + k, `héllo ✓ ${k}`, new Uint8Array([0, 255, k]), null],
      });
    }
    const rs = await db.execute('SELECT i, f, t, b, n FROM vals ORDER BY id');
    expect(rs.columns).toEqual(['i', 'f', 't', 'b', 'n']);
    expect(rs.columnTypes).toEqual(['INTEGER', 'REAL', 'TEXT', 'BLOB', '']);
    expect(rs.rows.map((r) => r.i)).toEqual(ints);
    expect(rs.rows.map((r) => r.f)).toEqual([1.25, 2.25, 3.25, 4.25]);
    expect(rs.rows[0]!.t).toBe('héllo ✓ 0');
    expect(Array.from(new Uint8Array(rs.rows[2]!.b as ArrayBuffer))).toEqual([0, 255, 2]);
    expect(rs.rows[0]!.n).toBeNull();
  });

  it('binds named arguments and reports affected rows and last insert rowid', async () => {
    const ins = await db.execute({ sql: 'INSERT INTO counter (name, n) VALUES (:name, $n)', args: { name: 'named', n: 5 } });
    expect(ins.rowsAffected).toBe(1);
    expect(typeof ins.lastInsertRowid).toBe('bigint');
    const rs = await db.execute({ sql: 'SELECT n FROM counter WHERE name = @name', args: { name: 'named' } });
    expect(rs.rows[0]!.n).toBe(5n);
    const upd = await db.execute({ sql: 'UPDATE counter SET n = n + 1 WHERE name = ?', args: ['named'] });
    expect(upd.rowsAffected).toBe(1);
  });

  it('rolls a write batch back as a whole when one statement fails', async () => {
    await db.execute("INSERT INTO counter (name, n) VALUES ('batch', 0)");
    await expect(
      db.batch(
        [
          "UPDATE counter SET n = 100 WHERE name = 'batch'",
          "INSERT INTO counter (name, n) VALUES ('batch2', 1)",
          "INSERT INTO counter (name, n) VALUES ('batch', 1)", // primary key clash
        ],
        'write',
      ),
    ).rejects.toMatchObject({ code: expect.stringMatching(/^SQLITE_CONSTRAINT/) });
    const rs = await db.execute("SELECT name, n FROM counter WHERE name LIKE 'batch%' ORDER BY name");
    expect(rs.rows.map((r) => [r.name, r.n])).toEqual([['batch', 0n]]);
    const ok = await db.batch(["UPDATE counter SET n = 7 WHERE name = 'batch'", "SELECT n FROM counter WHERE name = 'batch'"], 'write');
    expect(ok[1]!.rows[0]!.n).toBe(7n);
  });

  it('keeps an interactive transaction across several requests, then commits or rolls back', async () => {
    await db.execute("INSERT INTO counter (name, n) VALUES ('tx', 0)");
    const tx = await db.transaction('write');
    await tx.execute("UPDATE counter SET n = n + 1 WHERE name = 'tx'");
    const inside = await tx.execute("SELECT n FROM counter WHERE name = 'tx'");
    expect(inside.rows[0]!.n).toBe(1n);
    await tx.execute("UPDATE counter SET n = n + 1 WHERE name = 'tx'");
    await tx.commit();
    const after = await db.execute("SELECT n FROM counter WHERE name = 'tx'");
    expect(after.rows[0]!.n).toBe(2n);

    const tx2 = await db.transaction('write');
    await tx2.execute("UPDATE counter SET n = 99 WHERE name = 'tx'");
    await tx2.rollback();
    tx2.close();
    const back = await db.execute("SELECT n FROM counter WHERE name = 'tx'");
    expect(back.rows[0]!.n).toBe(2n);
  });

  it('runs executeMultiple scripts', async () => {
    await db.executeMultiple(`
      CREATE TABLE multi (x INTEGER);
      INSERT INTO multi VALUES (1);
      INSERT INTO multi VALUES (2);
    `);
    const rs = await db.execute('SELECT SUM(x) AS s FROM multi');
    expect(rs.rows[0]!.s).toBe(3n);
  });

  it('serializes concurrent interactive write transactions from two clients', async () => {
    await db.execute("INSERT INTO counter (name, n) VALUES ('race', 0)");
    const a = createClient({ url: server.url, authToken: TOKEN });
    const b = createClient({ url: server.url, authToken: TOKEN });
    const bump = async (c: Client, times: number) => {
      for (let i = 0; i < times; i++) {
        const tx = await c.transaction('write');
        const rs = await tx.execute("SELECT n FROM counter WHERE name = 'race'");
        await tx.execute({ sql: "UPDATE counter SET n = ? WHERE name = 'race'", args: [Number(rs.rows[0]!.n) + 1] });
        await tx.commit();
      }
    };
    await Promise.all([bump(a, 10), bump(b, 10)]);
    const rs = await db.execute("SELECT n FROM counter WHERE name = 'race'");
    expect(rs.rows[0]!.n).toBe(20n);
    a.close();
    b.close();
  });

  it('returns SQL errors as LibsqlErrors with codes, not HTTP 500s', async () => {
    const syntax = await db.execute('SELEC 1').catch((e: unknown) => e);
    expect(syntax).toBeInstanceOf(LibsqlError);
    expect((syntax as LibsqlError).code).toBe('SQLITE_ERROR');
    expect((syntax as LibsqlError).message).toMatch(/syntax error/);
    const constraint = await db.execute("INSERT INTO counter (name, n) VALUES ('x', NULL)").catch((e: unknown) => e);
    expect(constraint).toBeInstanceOf(LibsqlError);
    expect((constraint as LibsqlError).code).toMatch(/^SQLITE_CONSTRAINT/);
    // The server is still fine afterwards.
    expect((await db.execute('SELECT 1 AS one')).rows[0]!.one).toBe(1n);
  });

  it('serves @libsql/client/web too (what the edge uses in workerd)', async () => {
    const web = createWebClient({ url: server.url, authToken: TOKEN });
    const rs = await web.execute({ sql: 'SELECT ? AS a, ? AS b', args: ['x', 2] });
    expect([rs.rows[0]!.a, rs.rows[0]!.b]).toEqual(['x', 2]);
    web.close();
  });

  it('answers malformed requests with 400 and unknown batons with an error', async () => {
    const bad = await fetch(`${server.url}/v2/pipeline`, { method: 'POST', headers: auth, body: '{"requests": [{"type": "launch"}]}' });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { message: string }).message).toContain('requests.0');
    const notJson = await fetch(`${server.url}/v2/pipeline`, { method: 'POST', headers: auth, body: 'nope' });
    expect(notJson.status).toBe(400);
    const baton = await fetch(`${server.url}/v2/pipeline`, { method: 'POST', headers: auth, body: '{"baton": "forged", "requests": []}' });
    expect(baton.status).toBe(400);
    const v3 = await fetch(`${server.url}/v3-protobuf`, { headers: auth });
    expect(v3.status).toBe(404);
  });

  it('refuses to listen anywhere but loopback unless told to', async () => {
    await expect(startHranaServer({ dbPath: join(dir, 'x.db'), host: '0.0.0.0', authToken: TOKEN })).rejects.toThrow(/loopback/);
  });

  it('refuses to start without a token (what it refuses at run time: hrana-security.test.ts)', async () => {
    await expect(startHranaServer({ dbPath: join(dir, 'y.db'), authToken: '' })).rejects.toThrow(/token/);
  });
});
