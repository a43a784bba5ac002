// Password login and login sessions at the edge in workerd with real libSQL: one answer for a wrong login or
// password, limits per account and address, per address and per account (counted before the hash, so they hold
// under parallel guesses, and shared with the password change), the cookie's attributes, logout here and
// everywhere, a password change ending other sessions, idle and absolute expiry, and the Origin check.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword, PBKDF2_ITERATIONS } from '../../shared/auth/password.js';
import { createUser, findUser, updateUser } from '../../shared/db/users.js';
import { startTestDb, type TestDb } from '../helpers/system.js';
import { startTestEdge, type TestEdge } from '../helpers/edge.js';
import { loginCookie } from '../helpers/principals.js';

const ACCOUNT_LIMIT = 5;
const ADDRESS_LIMIT = 12;
const ACCOUNT_CEILING = 20;
const PASSWORD = 'correct horse battery';

let db: TestDb;
let edge: TestEdge;
let seq = 0;
let addr = 0;

beforeAll(async () => {
  db = await startTestDb();
  edge = await startTestEdge({
    libsqlUrl: db.url,
    libsqlAuthToken: db.authToken,
    vars: {
      LOGIN_FAILURE_LIMIT: String(ACCOUNT_LIMIT),
      LOGIN_ADDRESS_FAILURE_LIMIT: String(ADDRESS_LIMIT),
      LOGIN_ACCOUNT_CEILING: String(ACCOUNT_CEILING),
      SESSION_IDLE_S: '3600',
      SESSION_MAX_S: '86400',
      // Distinct client addresses, as Cloudflare would tell them apart.
      TRUST_CLIENT_ADDRESS_HEADER: 'true',
    },
  });
}, 60_000);

afterAll(async () => {
  await edge?.close();
  await db?.close();
});

async function newUser(role: 'admin' | 'analyst' = 'analyst', iterations = PBKDF2_ITERATIONS): Promise<string> {
  const login = `user${++seq}`;
  await createUser(db.db, { login, role, passwordHash: await hashPassword(PASSWORD, iterations) });
  return login;
}

/** A login attempt from a given client address (CF-Connecting-IP, as Cloudflare sets it). */
const attempt = (login: string, password: string, address = `198.51.100.${++addr}`, headers: Record<string, string> = {}) =>
  fetch(`${edge.url}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'cf-connecting-ip': address, ...headers },
    body: JSON.stringify({ login, password }),
  });

const get = (path: string, cookie: string) => fetch(`${edge.url}${path}`, { headers: { cookie } });
const post = (path: string, cookie: string, body?: unknown) =>
  fetch(`${edge.url}${path}`, { method: 'POST', headers: { cookie, ...(body ? { 'content-type': 'application/json' } : {}) }, ...(body ? { body: JSON.stringify(body) } : {}) });

async function errorOf(resp: Response) {
  const body = (await resp.json()) as { error: { code: string; message: string } };
  return { status: resp.status, code: body.error.code, message: body.error.message };
}

describe('password login', () => {
  it('answers a wrong password and an unknown login exactly alike', async () => {
    const login = await newUser();
    const wrongPassword = await errorOf(await attempt(login, 'not the password'));
    const unknownLogin = await errorOf(await attempt(`nobody${seq}`, PASSWORD));
    expect(wrongPassword).toEqual({ status: 401, code: 'login_failed', message: 'login or password is wrong' });
    expect(unknownLogin).toEqual(wrongPassword);
  });

  it('logs in with the right password, case-insensitively on the login, and sets a HttpOnly SameSite=Lax cookie (not Secure over http)', async () => {
    const login = await newUser('admin');
    const resp = await attempt(login.toUpperCase(), PASSWORD);
    expect(resp.status).toBe(200);
    expect(await resp.json()).toEqual({ login, role: 'admin' });
    const cookie = resp.headers.get('set-cookie')!;
    expect(cookie).toMatch(/^np_session=[A-Za-z0-9_-]{43};/);
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Lax/i);
    expect(cookie).toMatch(/Path=\//);
    expect(cookie).not.toMatch(/Secure/i);
    const row = await findUser(db.db, login);
    expect(row?.last_login_at).toBeGreaterThan(Date.now() - 60_000);
    // The database holds only the token's hash.
    const token = /np_session=([^;]+)/.exec(cookie)![1]!;
    const stored = await db.db.execute({ sql: 'SELECT count(*) AS n FROM auth_sessions WHERE token_hash = ?', args: [token] });
    expect(Number(stored.rows[0]!.n)).toBe(0);
  });

  it('locks an account from one address after its failures there, until the window passes; the owner elsewhere still logs in', async () => {
    const login = await newUser();
    const stranger = '192.0.2.10';
    for (let i = 0; i < ACCOUNT_LIMIT; i++) expect((await attempt(login, `wrong ${i}`, stranger)).status).toBe(401);
    const locked = await errorOf(await attempt(login, PASSWORD, stranger));
    expect(locked.status).toBe(429);
    expect(locked.code).toBe('rate_limited');
    // The owner, from another address, is not locked out by the stranger.
    expect((await attempt(login, PASSWORD)).status).toBe(200);
    // Another account from the stranger's address is not affected either.
    expect((await attempt(await newUser(), PASSWORD, stranger)).status).toBe(200);
    // The window passing (moved back in the database) frees the account at that address.
    await db.db.execute({ sql: 'UPDATE login_failures SET window_start = window_start - 3600000 WHERE bucket LIKE ?', args: [`%${login}%`] });
    expect((await attempt(login, PASSWORD, stranger)).status).toBe(200);
  });

  it('40 parallel wrong logins from one address get at most the limit of password checks (401), the rest 429; the owner still logs in from elsewhere', async () => {
    const login = await newUser();
    const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => attempt(login, `guess ${i}`, '192.0.2.40').then(errorOf)));
    const checked = answers.filter((a) => a.status === 401 && a.code === 'login_failed').length;
    const refused = answers.filter((a) => a.status === 429 && a.code === 'rate_limited').length;
    expect(checked).toBeGreaterThan(0);
    expect(checked).toBeLessThanOrEqual(ACCOUNT_LIMIT);
    expect(checked + refused).toBe(40);
    expect((await attempt(login, PASSWORD, '192.0.2.41')).status).toBe(200);
  });

  it('locks an account guessed at from many addresses at its ceiling, whatever the address', async () => {
    const login = await newUser();
    const answers = await Promise.all(Array.from({ length: ACCOUNT_CEILING + 5 }, (_, i) => attempt(login, 'wrong', `192.0.2.${100 + i}`)));
    expect(answers.filter((a) => a.status === 401)).toHaveLength(ACCOUNT_CEILING);
    expect((await errorOf(await attempt(login, PASSWORD))).code).toBe('rate_limited');
  });

  it('locks an address that tries many accounts', async () => {
    const address = '203.0.113.77';
    for (let i = 0; i < ADDRESS_LIMIT; i++) expect((await attempt(`nobody-${i}`, 'x', address)).status).toBe(401);
    const login = await newUser();
    expect((await errorOf(await attempt(login, PASSWORD, address))).code).toBe('rate_limited');
    expect((await attempt(login, PASSWORD, '203.0.113.78')).status).toBe(200);
  });

  it('a successful login clears its account failures', async () => {
    const login = await newUser();
    for (let i = 0; i < ACCOUNT_LIMIT - 1; i++) await attempt(login, 'wrong');
    expect((await attempt(login, PASSWORD)).status).toBe(200);
    for (let i = 0; i < ACCOUNT_LIMIT - 1; i++) await attempt(login, 'wrong');
    expect((await attempt(login, PASSWORD)).status).toBe(200);
  });

  it('tells a disabled user only after the right password, and sets no cookie', async () => {
    const login = await newUser();
    await updateUser(db.db, login, { disabled: true });
    expect((await errorOf(await attempt(login, 'wrong'))).code).toBe('login_failed');
    const resp = await attempt(login, PASSWORD);
    expect(resp.status).toBe(403);
    expect(resp.headers.get('set-cookie')).toBeNull();
  });

  it('re-hashes a password stored with fewer iterations at the next login', async () => {
    const login = await newUser('analyst', 1000);
    expect((await attempt(login, PASSWORD)).status).toBe(200);
    expect((await findUser(db.db, login))?.password_hash).toMatch(new RegExp(`^pbkdf2-sha256\\$${PBKDF2_ITERATIONS}\\$`));
    expect((await attempt(login, PASSWORD)).status).toBe(200);
  });

  it('refuses a login posted by another site (Origin) or not as JSON, and validates the body', async () => {
    const login = await newUser();
    expect((await errorOf(await attempt(login, PASSWORD, undefined, { origin: 'https://evil.example' }))).code).toBe('forbidden');
    const form = await fetch(`${edge.url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: `{"login":"${login}","password":"${PASSWORD}"}` });
    expect((await errorOf(form)).code).toBe('unsupported_media_type');
    const bad = await errorOf(await fetch(`${edge.url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ login }) }));
    expect(bad.code).toBe('invalid_request');
    expect(bad.message).toMatch(/password/);
  });
});

describe('sessions', () => {
  it('logout ends exactly this session', async () => {
    const login = await newUser();
    const a = await loginCookie(edge.url, login, PASSWORD);
    const b = await loginCookie(edge.url, login, PASSWORD);
    const out = await post('/api/auth/logout', a);
    expect(out.status).toBe(204);
    expect(out.headers.get('set-cookie')).toMatch(/np_session=;.*Max-Age=0/i);
    expect((await get('/api/auth/me', a)).status).toBe(401);
    expect((await get('/api/auth/me', b)).status).toBe(200);
  });

  it('logout everywhere ends every other session and keeps this one', async () => {
    const login = await newUser();
    const [a, b, c] = [await loginCookie(edge.url, login, PASSWORD), await loginCookie(edge.url, login, PASSWORD), await loginCookie(edge.url, login, PASSWORD)];
    const resp = await post('/api/auth/logout-everywhere', a);
    expect(await resp.json()).toEqual({ ended_sessions: 2 });
    expect([(await get('/api/auth/me', a)).status, (await get('/api/auth/me', b)).status, (await get('/api/auth/me', c)).status]).toEqual([200, 401, 401]);
  });

  it('a password change ends the other sessions; the old password stops working', async () => {
    const login = await newUser();
    const a = await loginCookie(edge.url, login, PASSWORD);
    const b = await loginCookie(edge.url, login, PASSWORD);
    expect((await errorOf(await post('/api/auth/password', a, { current_password: 'nope', new_password: 'a brand new password' }))).code).toBe('login_failed');
    expect((await errorOf(await post('/api/auth/password', a, { current_password: PASSWORD, new_password: 'short' }))).code).toBe('invalid_request');
    expect((await post('/api/auth/password', a, { current_password: PASSWORD, new_password: 'a brand new password' })).status).toBe(204);
    expect((await get('/api/auth/me', a)).status).toBe(200);
    expect((await get('/api/auth/me', b)).status).toBe(401);
    expect((await attempt(login, PASSWORD)).status).toBe(401);
    expect((await attempt(login, 'a brand new password')).status).toBe(200);
  });

  it('20 guesses of the current password with a stolen cookie: the account\'s limit holds (429 after it), and the password stays', async () => {
    const login = await newUser();
    const stolen = await loginCookie(edge.url, login, PASSWORD);
    const thief = '192.0.2.200';
    const answers: number[] = [];
    for (let i = 0; i < 20; i++) {
      const resp = await fetch(`${edge.url}/api/auth/password`, {
        method: 'POST',
        headers: { cookie: stolen, 'content-type': 'application/json', 'cf-connecting-ip': thief },
        body: JSON.stringify({ current_password: `guess number ${i}`, new_password: 'taken over by the thief' }),
      });
      answers.push(resp.status);
      if (resp.status === 429) expect((await errorOf(resp)).code).toBe('rate_limited');
    }
    expect(answers).toEqual([...Array<number>(ACCOUNT_LIMIT).fill(401), ...Array<number>(20 - ACCOUNT_LIMIT).fill(429)]);
    // The same bucket as a login of the account from there; the owner elsewhere still logs in with the old password.
    expect((await errorOf(await attempt(login, PASSWORD, thief))).code).toBe('rate_limited');
    expect((await attempt(login, PASSWORD)).status).toBe(200);
  });

  it('an admin resetting a password ends all of that user\'s sessions', async () => {
    const admin = await newUser('admin');
    const user = await newUser();
    const adminCookie = await loginCookie(edge.url, admin, PASSWORD);
    const userCookie = await loginCookie(edge.url, user, PASSWORD);
    const resp = await fetch(`${edge.url}/api/users/${user}`, { method: 'PATCH', headers: { cookie: adminCookie, 'content-type': 'application/json' }, body: JSON.stringify({ password: 'reset by the admin' }) });
    expect(resp.status).toBe(200);
    expect((await get('/api/auth/me', userCookie)).status).toBe(401);
  });

  it('a session unused for the idle time ends, and so does one past its absolute lifetime however used', async () => {
    const login = await newUser();
    const idle = await loginCookie(edge.url, login, PASSWORD);
    const old = await loginCookie(edge.url, login, PASSWORD);
    const fresh = await loginCookie(edge.url, login, PASSWORD);
    const rows = (await db.db.execute({ sql: 'SELECT token_hash FROM auth_sessions WHERE login = ? ORDER BY created_at, rowid', args: [login] })).rows.map((r) => String(r.token_hash));
    expect(rows).toHaveLength(3);
    await db.db.execute({ sql: 'UPDATE auth_sessions SET last_seen_at = last_seen_at - 3601000 WHERE token_hash = ?', args: [rows[0]!] });
    await db.db.execute({ sql: 'UPDATE auth_sessions SET expires_at = ? WHERE token_hash = ?', args: [Date.now() - 1, rows[1]!] });
    expect([(await get('/api/auth/me', idle)).status, (await get('/api/auth/me', old)).status, (await get('/api/auth/me', fresh)).status]).toEqual([401, 401, 200]);
    // Ended sessions are removed, not kept.
    const left = await db.db.execute({ sql: 'SELECT count(*) AS n FROM auth_sessions WHERE login = ?', args: [login] });
    expect(Number(left.rows[0]!.n)).toBe(1);
    // Ones never used again go at the login's next sign-in.
    await db.db.execute({ sql: 'UPDATE auth_sessions SET expires_at = ? WHERE login = ?', args: [Date.now() - 1, login] });
    await loginCookie(edge.url, login, PASSWORD);
    const after = await db.db.execute({ sql: 'SELECT count(*) AS n FROM auth_sessions WHERE login = ? AND expires_at > ?', args: [login, Date.now()] });
    const all = await db.db.execute({ sql: 'SELECT count(*) AS n FROM auth_sessions WHERE login = ?', args: [login] });
    expect([Number(after.rows[0]!.n), Number(all.rows[0]!.n)]).toEqual([1, 1]);
  });

  it('a forged or malformed cookie is simply not a session', async () => {
    expect((await get('/api/auth/me', 'np_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA')).status).toBe(401);
    expect((await get('/api/auth/me', 'np_session=%00%ff; np_session=x')).status).toBe(401);
  });

  it('the last active admin can be neither demoted nor disabled', async () => {
    await db.db.execute("UPDATE users SET disabled_at = 1 WHERE role = 'admin'");
    const admin = await newUser('admin');
    const cookie = await loginCookie(edge.url, admin, PASSWORD);
    const resp = await fetch(`${edge.url}/api/users/${admin}`, { method: 'PATCH', headers: { cookie, 'content-type': 'application/json' }, body: JSON.stringify({ role: 'analyst' }) });
    expect((await errorOf(resp)).code).toBe('conflict');
    expect((await findUser(db.db, admin))?.role).toBe('admin');
  });
});
