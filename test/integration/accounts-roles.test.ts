// Every account, key and user route of PROTOCOL.md §4 as a table over {anonymous, admin, analyst of the key,
// analyst of another key, disabled user}, with the edge in workerd and real libSQL: each gets exactly
// the right status and sees only what it may.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMagicKey } from '../../shared/db/keys.js';
import { setGrants } from '../../shared/db/users.js';
import { startTestDb, type TestDb } from '../helpers/system.js';
import { startTestEdge, type TestEdge } from '../helpers/edge.js';
import { roleTable } from '../helpers/role-table.js';
import { asPrincipal, setUpPrincipals, type Principals, type RoleRow } from '../helpers/principals.js';

let db: TestDb;
let edge: TestEdge;
let p: Principals;
let seq = 0;

beforeAll(async () => {
  db = await startTestDb();
  edge = await startTestEdge({ libsqlUrl: db.url, libsqlAuthToken: db.authToken });
  p = await setUpPrincipals(db.db, edge.url);
}, 60_000);

afterAll(async () => {
  await edge?.close();
  await db?.close();
});

/** A fresh key granted to the analyst of key A, created by the admin (not by the analyst). */
async function freshKeyOfAnalyst(): Promise<string> {
  const k = await createMagicKey(db.db, { label: `revocable ${++seq}`, createdBy: p.login.admin });
  await setGrants(db.db, p.login.analystOfKey, [p.keyA.key_id, k.key_id], null);
  return k.key_id;
}

const ROWS: RoleRow[] = [
  { name: 'GET /api/auth/me', request: (as) => as('GET', '/api/auth/me'), expect: { anonymous: 401, admin: 200, analystOfKey: 200, analystOther: 200, disabled: 401 } },
  { name: 'GET /api/keys', request: (as) => as('GET', '/api/keys'), expect: { anonymous: 401, admin: 200, analystOfKey: 200, analystOther: 200, disabled: 401 } },
  {
    name: 'POST /api/keys',
    request: (as, who) => as('POST', '/api/keys', { label: `made by ${who}`, ttl_s: 3600 }),
    expect: { anonymous: 401, admin: 201, analystOfKey: 201, analystOther: 201, disabled: 401 },
  },
  {
    name: 'POST /api/keys/{key_id}/revoke',
    request: async (as) => as('POST', `/api/keys/${await freshKeyOfAnalyst()}/revoke`),
    // The analyst of the key may use it but did not create it; to the other analyst it does not exist.
    expect: { anonymous: 401, admin: 204, analystOfKey: 403, analystOther: 404, disabled: 401 },
  },
  { name: 'GET /api/users', request: (as) => as('GET', '/api/users'), expect: { anonymous: 401, admin: 200, analystOfKey: 403, analystOther: 403, disabled: 401 } },
  {
    name: 'POST /api/users',
    request: (as, who) => as('POST', '/api/users', { login: `new-${who}-${++seq}`, role: 'analyst', password: 'a-long-password-1' }),
    expect: { anonymous: 401, admin: 201, analystOfKey: 403, analystOther: 403, disabled: 401 },
  },
  {
    name: 'PATCH /api/users/{login}',
    request: (as) => as('PATCH', `/api/users/${p.login.analystOther}`, { keys: [p.keyB.key_id] }),
    expect: { anonymous: 401, admin: 200, analystOfKey: 403, analystOther: 403, disabled: 401 },
  },
  { name: 'POST /api/auth/logout-everywhere', request: (as) => as('POST', '/api/auth/logout-everywhere'), expect: { anonymous: 401, admin: 200, analystOfKey: 200, analystOther: 200, disabled: 401 } },
];

describe('role table: accounts, keys and users', () => {
  roleTable(ROWS, () => ({ url: edge.url, p }));
});

describe('what each person sees', () => {
  const keyIdsAs = async (who: 'admin' | 'analystOfKey' | 'analystOther') => {
    const resp = await asPrincipal(edge.url, p, who)('GET', '/api/keys');
    return ((await resp.json()) as { key_id: string }[]).map((k) => k.key_id);
  };

  it('an analyst lists exactly the keys granted to them; the admin lists every key', async () => {
    const all = (await db.db.execute('SELECT key_id FROM magic_keys')).rows.map((r) => String(r.key_id));
    expect((await keyIdsAs('admin')).sort()).toEqual(all.sort());
    const ana = (await db.db.execute({ sql: 'SELECT key_id FROM key_grants WHERE login = ?', args: [p.login.analystOfKey] })).rows.map((r) => String(r.key_id));
    expect((await keyIdsAs('analystOfKey')).sort()).toEqual(ana.sort());
    expect(await keyIdsAs('analystOfKey')).not.toContain(p.keyB.key_id);
    expect(await keyIdsAs('analystOther')).not.toContain(p.keyA.key_id);
  });

  it('me names the login, role and granted keys', async () => {
    const resp = await asPrincipal(edge.url, p, 'analystOther')('GET', '/api/auth/me');
    const me = (await resp.json()) as { login: string; role: string; keys: string[] };
    expect(me.login).toBe(p.login.analystOther);
    expect(me.role).toBe('analyst');
    expect(me.keys).toContain(p.keyB.key_id);
    expect(me.keys).not.toContain(p.keyA.key_id);
  });

  it('a key created by an analyst is theirs: granted, listed with its share link, and revocable by them', async () => {
    const as = asPrincipal(edge.url, p, 'analystOther');
    const created = await as('POST', '/api/keys', { label: 'bob hands out', max_concurrent_sessions: 2, max_measuring_ms: 600_000 });
    expect(created.status).toBe(201);
    const k = (await created.json()) as { key_id: string; key: string; share_link: string; status: string; max_concurrent_sessions: number };
    expect(k.share_link).toBe(`${edge.url}/?key=${encodeURIComponent(k.key)}`);
    expect(k.status).toBe('active');
    expect(k.max_concurrent_sessions).toBe(2);
    const row = (await db.db.execute({ sql: 'SELECT created_by, label, max_measuring_ms FROM magic_keys WHERE key_id = ?', args: [k.key_id] })).rows[0];
    expect(row).toMatchObject({ created_by: p.login.analystOther, label: 'bob hands out', max_measuring_ms: 600_000 });
    expect(await keyIdsAs('analystOther')).toContain(k.key_id);
    expect(await keyIdsAs('analystOfKey')).not.toContain(k.key_id);
    expect((await as('POST', `/api/keys/${k.key_id}/revoke`)).status).toBe(204);
    const listed = ((await (await as('GET', '/api/keys')).json()) as { key_id: string; status: string }[]).find((x) => x.key_id === k.key_id);
    expect(listed?.status).toBe('revoked');
  });

  it('the user list never holds a password hash', async () => {
    const text = await (await asPrincipal(edge.url, p, 'admin')('GET', '/api/users')).text();
    expect(text).toContain(p.login.analystOfKey);
    expect(text).not.toMatch(/pbkdf2|password_hash/);
  });
});
