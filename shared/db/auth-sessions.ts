// Server-side login sessions: the cookie carries a random token, the database only its SHA-256.
import type { Db, InStatement, ResultSet } from './client.js';
import { sessionGrants, type GrantsSql } from './viewer-grants.js';
import { randomToken } from '../ids.js';
import { sha256Hex } from '../signing.js';

export interface SessionLimits {
  /** A session unused for this long ends. */
  idleMs: number;
  /** A session ends this long after login, used or not. */
  maxMs: number;
}

export interface AuthSession {
  login: string;
  created_at: number;
  last_seen_at: number;
  expires_at: number;
  method: string;
}

/** Opens a session for `login`; returns the token for the cookie (never stored). `alongside` runs first in the same write batch. */
export async function openAuthSession(
  db: Db,
  login: string,
  method: 'password' | 'oidc',
  limits: SessionLimits,
  userAgent: string | null,
  now = Date.now(),
  alongside: readonly InStatement[] = [],
): Promise<string> {
  const token = randomToken(32);
  await db.batch(
    [
      ...alongside,
      // The login's sessions that ended unused are removed here, so rows never pile up for one who keeps logging in.
      { sql: 'DELETE FROM auth_sessions WHERE login = ? AND (expires_at <= ? OR last_seen_at <= ?)', args: [login, now, now - limits.idleMs] },
      {
        sql: 'INSERT INTO auth_sessions (token_hash, login, created_at, last_seen_at, expires_at, method, user_agent) VALUES (?, ?, ?, ?, ?, ?, ?)',
        args: [await sha256Hex(token), login, now, now, now + limits.maxMs, method, userAgent?.slice(0, 256) ?? null],
      },
    ],
    'write',
  );
  return token;
}

/** Touching last_seen_at on every request would be a write per request; once a minute is precise enough for idle expiry. */
const TOUCH_EVERY_MS = 60_000;

/** A live session with what every authorisation decision needs of its user. */
export interface SessionViewer {
  session: AuthSession;
  /** null when the user is gone. */
  user: { login: string; role: 'admin' | 'analyst'; disabled: boolean } | null;
  /** key_ids granted to the user, sorted. */
  keys: string[];
}

/**
 * The live session a token names with its user and the user's grants, read in
 * one query, or null (unknown, idle too long, past its absolute expiry); a
 * live one has its last use moved on. `alongside` builds statements run in the
 * same read batch, seeing the session's grants as SQL; their results are
 * returned whatever the session (the caller discards them when it is null).
 */
export async function resolveAuthSession(
  db: Db,
  token: string,
  limits: SessionLimits,
  now = Date.now(),
  alongside?: (grants: GrantsSql) => InStatement[],
): Promise<{ found: SessionViewer | null; results: ResultSet[] }> {
  const hash = await sha256Hex(token);
  const lookup = sessionLookup(hash);
  const [rs, ...results] = alongside ? await db.batch([lookup, ...alongside(sessionGrants(hash))], 'read') : [await db.execute(lookup)];
  const found = sessionViewerFrom(rs, limits, now);
  // The writes below are a second round trip, but only for a session that ended or once a minute of use:
  // folding them into every read would make each request a write, queued behind SQLite's one writer.
  if (found === 'ended') {
    await db.execute(endSessionIfEnded(hash, limits, now));
    return { found: null, results };
  }
  if (found && now - found.session.last_seen_at >= TOUCH_EVERY_MS) await db.execute(touchSession(hash, now));
  return { found, results };
}

/**
 * resolveAuthSession's work as statements for a caller's write batch (one round trip, the writes included): an
 * ended session is removed and a live one's use moved on (once a minute) before it is read. Read the last
 * result with sessionViewerFrom.
 */
export async function resolveAuthSessionStatements(token: string, limits: SessionLimits, now = Date.now()): Promise<InStatement[]> {
  const hash = await sha256Hex(token);
  return [
    endSessionIfEnded(hash, limits, now),
    touchSession(hash, now),
    sessionLookup(hash),
  ];
}

/** The session, user and grants of a token hash, in one query. */
function sessionLookup(hash: string): InStatement {
  return {
    sql: `SELECT a.login, a.created_at, a.last_seen_at, a.expires_at, a.method,
                 u.login AS user_login, u.role, u.disabled_at,
                 (SELECT json_group_array(key_id) FROM (SELECT g.key_id FROM key_grants g WHERE g.login = u.login ORDER BY g.key_id)) AS keys
            FROM auth_sessions a LEFT JOIN users u ON u.login = a.login
           WHERE a.token_hash = ?`,
    args: [hash],
  };
}

/** Removes the session if it has ended (idle too long, or past its absolute expiry). */
function endSessionIfEnded(hash: string, limits: SessionLimits, now: number): InStatement {
  return { sql: 'DELETE FROM auth_sessions WHERE token_hash = ? AND (expires_at <= ? OR last_seen_at + ? <= ?)', args: [hash, now, limits.idleMs, now] };
}

/** Moves a session's last use on to `now`, if it was TOUCH_EVERY_MS or more ago. */
function touchSession(hash: string, now: number): InStatement {
  return { sql: 'UPDATE auth_sessions SET last_seen_at = ? WHERE token_hash = ? AND last_seen_at <= ?', args: [now, hash, now - TOUCH_EVERY_MS] };
}

/** The live session a session lookup found, 'ended' for one that has ended (not yet removed), or null for none. */
export function sessionViewerFrom(rs: ResultSet | undefined, limits: SessionLimits, now: number): SessionViewer | 'ended' | null {
  const r = rs?.rows[0];
  if (!r) return null;
  const s: AuthSession = { login: String(r.login), created_at: Number(r.created_at), last_seen_at: Number(r.last_seen_at), expires_at: Number(r.expires_at), method: String(r.method) };
  if (s.expires_at <= now || s.last_seen_at + limits.idleMs <= now) return 'ended';
  const user = r.user_login == null ? null : { login: String(r.user_login), role: r.role === 'admin' ? ('admin' as const) : ('analyst' as const), disabled: r.disabled_at != null };
  const keys = user && typeof r.keys === 'string' ? (JSON.parse(r.keys) as unknown[]).map(String) : [];
  return { session: s, user, keys };
}

/** Ends the session a token names (logout). */
export async function closeAuthSession(db: Db, token: string): Promise<void> {
  await db.execute({ sql: 'DELETE FROM auth_sessions WHERE token_hash = ?', args: [await sha256Hex(token)] });
}

/** Ends every session of a login, except the one named by `keepToken` (log out everywhere else; password change). */
export async function closeUserSessions(db: Db, login: string, keepToken?: string): Promise<number> {
  const keep = keepToken ? await sha256Hex(keepToken) : '';
  const rs = await db.execute({ sql: 'DELETE FROM auth_sessions WHERE login = ? AND token_hash <> ?', args: [login, keep] });
  return rs.rowsAffected;
}
