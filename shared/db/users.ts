// People who log in (admins and analysts), their key grants and their OpenID identities.
import type { Db, InStatement, ResultSet } from './client.js';

export type Role = 'admin' | 'analyst';

/** A user as stored; the password hash never leaves shared/ and edge/auth. */
export interface User {
  login: string;
  role: Role;
  email: string | null;
  password_hash: string | null;
  created_at: number;
  created_by: string | null;
  updated_at: number;
  password_changed_at: number | null;
  disabled_at: number | null;
  last_login_at: number | null;
}

/** A user as the API shows it. */
export interface UserView {
  login: string;
  role: Role;
  email: string | null;
  disabled: boolean;
  has_password: boolean;
  created_at: number;
  last_login_at: number | null;
  /** key_ids granted. */
  keys: string[];
}

export interface NewUser {
  login: string;
  role: Role;
  passwordHash?: string | null;
  email?: string | null;
  createdBy?: string | null;
}

/** Creates a user; false when the login is taken (logins are case-insensitive). */
export async function createUser(db: Db, u: NewUser, now = Date.now()): Promise<boolean> {
  const rs = await db.execute({
    sql: `INSERT INTO users (login, role, password_hash, email, created_at, created_by, updated_at, password_changed_at)
          VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(login) DO NOTHING`,
    args: [u.login, u.role, u.passwordHash ?? null, u.email ?? null, now, u.createdBy ?? null, now, u.passwordHash ? now : null],
  });
  return rs.rowsAffected > 0;
}

/** One user by login (case-insensitive), or null. */
export async function findUser(db: Db, login: string): Promise<User | null> {
  return userFound(await db.execute(findUserStatement(login)));
}

/** findUser's query, for a caller that batches it with other statements; read its result with userFound. */
export function findUserStatement(login: string): InStatement {
  return { sql: 'SELECT * FROM users WHERE login = ?', args: [login] };
}

/** The user a findUserStatement result holds, or null. */
export function userFound(rs: ResultSet | undefined): User | null {
  const row = rs?.rows[0];
  return row ? toUser(row as unknown as Record<string, unknown>) : null;
}

/** The user whose login or e-mail is this address (an admin may create an OpenID user under either). */
export async function findUserByEmail(db: Db, email: string): Promise<User | null> {
  const rs = await db.execute({ sql: 'SELECT * FROM users WHERE login = ? OR email = ? ORDER BY login = ? DESC LIMIT 1', args: [email, email, email] });
  return rs.rows[0] ? toUser(rs.rows[0] as unknown as Record<string, unknown>) : null;
}

/** Every user with their grants, by login. */
export async function listUsers(db: Db): Promise<UserView[]> {
  const [users, grants] = await db.batch(['SELECT * FROM users ORDER BY login', 'SELECT login, key_id FROM key_grants ORDER BY key_id'], 'read');
  const byLogin = new Map<string, string[]>();
  for (const g of grants!.rows) {
    const k = String(g.login).toLowerCase();
    byLogin.set(k, [...(byLogin.get(k) ?? []), String(g.key_id)]);
  }
  return users!.rows.map((r) => userView(toUser(r as unknown as Record<string, unknown>), byLogin.get(String(r.login).toLowerCase()) ?? []));
}

/** How the API shows a user. */
export function userView(u: User, keys: string[]): UserView {
  return {
    login: u.login,
    role: u.role,
    email: u.email,
    disabled: u.disabled_at !== null,
    has_password: u.password_hash !== null,
    created_at: u.created_at,
    last_login_at: u.last_login_at,
    keys,
  };
}

export interface UserChange {
  role?: Role;
  email?: string | null;
  passwordHash?: string;
  disabled?: boolean;
}

/** Applies a change to a user; false when there is no such user. A new password or disabling ends the user's sessions (in the same batch). */
export async function updateUser(db: Db, login: string, change: UserChange, now = Date.now()): Promise<boolean> {
  const sets: string[] = ['updated_at = ?'];
  const args: (string | number | null)[] = [now];
  const set = (column: string, value: string | number | null) => {
    sets.push(`${column} = ?`);
    args.push(value);
  };
  if (change.role !== undefined) set('role', change.role);
  if (change.email !== undefined) set('email', change.email);
  if (change.passwordHash !== undefined) {
    set('password_hash', change.passwordHash);
    set('password_changed_at', now);
  }
  if (change.disabled !== undefined) set('disabled_at', change.disabled ? now : null);
  const stmts = [{ sql: `UPDATE users SET ${sets.join(', ')} WHERE login = ?`, args: [...args, login] }];
  if (change.disabled) stmts.push({ sql: 'DELETE FROM auth_sessions WHERE login = ?', args: [login] });
  const [rs] = await db.batch(stmts, 'write');
  return rs!.rowsAffected > 0;
}

/** Records a successful login (and, when the hash was re-made with today's parameters, stores it): a statement for the new session's batch. */
export function recordLoginStatement(login: string, rehashed: string | null, now = Date.now()): InStatement {
  return { sql: 'UPDATE users SET last_login_at = ?, password_hash = COALESCE(?, password_hash) WHERE login = ?', args: [now, rehashed, login] };
}

/** The key_ids granted to a login. */
export async function grantedKeyIds(db: Db, login: string): Promise<string[]> {
  const rs = await db.execute({ sql: 'SELECT key_id FROM key_grants WHERE login = ? ORDER BY key_id', args: [login] });
  return rs.rows.map((r) => String(r.key_id));
}

/** Replaces a login's grants with exactly `keyIds`. */
export async function setGrants(db: Db, login: string, keyIds: readonly string[], by: string | null, now = Date.now()): Promise<void> {
  await db.batch(
    [
      { sql: 'DELETE FROM key_grants WHERE login = ? AND key_id NOT IN (SELECT value FROM json_each(?))', args: [login, JSON.stringify(keyIds)] },
      ...keyIds.map((k) => ({ sql: 'INSERT INTO key_grants (login, key_id, granted_at, granted_by) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING', args: [login, k, now, by] })),
    ],
    'write',
  );
}

/** Grants one key to a login (idempotent). */
export async function grantKey(db: Db, login: string, keyId: string, by: string | null, now = Date.now()): Promise<void> {
  await db.execute({ sql: 'INSERT INTO key_grants (login, key_id, granted_at, granted_by) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING', args: [login, keyId, now, by] });
}

/** The login an OpenID identity is bound to, if any. */
export async function findIdentity(db: Db, issuer: string, subject: string): Promise<string | null> {
  const rs = await db.execute({ sql: 'SELECT login FROM user_identities WHERE issuer = ? AND subject = ?', args: [issuer, subject] });
  return rs.rows[0] ? String(rs.rows[0].login) : null;
}

/** Binds an OpenID identity to a login (first sign-in). */
export async function bindIdentity(db: Db, issuer: string, subject: string, login: string, email: string | null, now = Date.now()): Promise<void> {
  await db.execute({
    sql: 'INSERT INTO user_identities (issuer, subject, login, email, created_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING',
    args: [issuer, subject, login, email, now],
  });
}

function toUser(r: Record<string, unknown>): User {
  const num = (v: unknown) => (v == null ? null : Number(v));
  const str = (v: unknown) => (v == null ? null : String(v));
  return {
    login: String(r.login),
    role: r.role === 'admin' ? 'admin' : 'analyst',
    email: str(r.email),
    password_hash: str(r.password_hash),
    created_at: Number(r.created_at),
    created_by: str(r.created_by),
    updated_at: Number(r.updated_at),
    password_changed_at: num(r.password_changed_at),
    disabled_at: num(r.disabled_at),
    last_login_at: num(r.last_login_at),
  };
}
