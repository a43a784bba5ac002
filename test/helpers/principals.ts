// The five people every console route is checked against (issue 10's role table, reused by the survey console):
// anonymous, an admin, an analyst of key A, an analyst of key B only, and a disabled user (who had a session).
import type { Client } from '@libsql/client';
import { hashPassword } from '../../shared/auth/password.js';
import { createMagicKey, type MagicKey } from '../../shared/db/keys.js';
import { createUser, setGrants, updateUser } from '../../shared/db/users.js';

export type PrincipalName = 'anonymous' | 'admin' | 'analystOfKey' | 'analystOther' | 'disabled';
export const PRINCIPALS: readonly PrincipalName[] = ['anonymous', 'admin', 'analystOfKey', 'analystOther', 'disabled'];

export interface Principals {
  /** Cookie header per principal ('' for anonymous). */
  cookie: Record<PrincipalName, string>;
  login: Record<Exclude<PrincipalName, 'anonymous'>, string>;
  /** Key A (granted to analystOfKey and, before disabling, to the disabled user) and key B (analystOther). */
  keyA: MagicKey;
  keyB: MagicKey;
  password: string;
}

/** Logs in through the real route and returns the session cookie (`np_session=...`). */
export async function loginCookie(edgeUrl: string, login: string, password: string): Promise<string> {
  const resp = await fetch(`${edgeUrl}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ login, password }) });
  if (resp.status !== 200) throw new Error(`login ${login}: ${resp.status} ${await resp.text()}`);
  const set = resp.headers.get('set-cookie') ?? '';
  const m = /np_session=([^;]+)/.exec(set);
  if (!m) throw new Error(`login ${login}: no session cookie in ${set}`);
  return `np_session=${m[1]}`;
}

/** Creates the principals' users and keys in the database and logs each in at the edge. */
export async function setUpPrincipals(db: Client, edgeUrl: string, tag = 'rt'): Promise<Principals> {
  const password = `pw-${tag}-0123456789`;
  const hash = await hashPassword(password);
  const keyA = await createMagicKey(db, { label: `${tag} key A` });
  const keyB = await createMagicKey(db, { label: `${tag} key B` });
  const login = { admin: `${tag}-admin`, analystOfKey: `${tag}-ana`, analystOther: `${tag}-bob`, disabled: `${tag}-dis` };
  await createUser(db, { login: login.admin, role: 'admin', passwordHash: hash });
  await createUser(db, { login: login.analystOfKey, role: 'analyst', passwordHash: hash });
  await createUser(db, { login: login.analystOther, role: 'analyst', passwordHash: hash });
  await createUser(db, { login: login.disabled, role: 'analyst', passwordHash: hash });
  await setGrants(db, login.analystOfKey, [keyA.key_id], null);
  await setGrants(db, login.analystOther, [keyB.key_id], null);
  await setGrants(db, login.disabled, [keyA.key_id], null);
  const cookie = {
    anonymous: '',
    admin: await loginCookie(edgeUrl, login.admin, password),
    analystOfKey: await loginCookie(edgeUrl, login.analystOfKey, password),
    analystOther: await loginCookie(edgeUrl, login.analystOther, password),
    disabled: await loginCookie(edgeUrl, login.disabled, password),
  };
  // Disabled after logging in: the session cookie it holds must stop working.
  await updateUser(db, login.disabled, { disabled: true });
  return { cookie, login, keyA, keyB, password };
}

/** A request as one principal: JSON body when given, the principal's cookie, same-origin. */
export function asPrincipal(edgeUrl: string, p: Principals, who: PrincipalName) {
  return (method: string, path: string, body?: unknown): Promise<Response> =>
    fetch(`${edgeUrl}${path}`, {
      method,
      redirect: 'manual',
      headers: { ...(p.cookie[who] ? { cookie: p.cookie[who] } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
}

/** One route in the role table: the request, and each principal's expected status. */
export interface RoleRow {
  name: string;
  /** Builds the request (may create what it acts on first, so rows do not depend on each other). */
  request: (as: (method: string, path: string, body?: unknown) => Promise<Response>, who: PrincipalName) => Promise<Response>;
  expect: Record<PrincipalName, number>;
}

