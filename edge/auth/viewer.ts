// Who is asking: the logged-in person behind a request's session cookie, looked up once per request in one query.
import type { Context } from 'hono';
import { resolveAuthSession } from '../../shared/db/auth-sessions.js';
import type { Role } from '../../shared/db/users.js';
import { withDb } from '../db.js';
import type { EdgeEnv } from '../env.js';
import { HttpError } from '../errors.js';
import { readSessionToken } from './session-cookie.js';

/** A logged-in person, as every authorisation decision sees them. */
export interface Viewer {
  login: string;
  role: Role;
  /** key_ids granted (an admin sees every key whatever this holds). */
  keys: string[];
  /** The session's cookie token (logout ends exactly this one). */
  token: string;
}

/** The request's logged-in person, or null (no cookie, unknown or expired session, disabled user). */
export async function getViewer(c: Context<EdgeEnv>): Promise<Viewer | null> {
  const known = c.get('viewer');
  if (known !== undefined) return known;
  const token = readSessionToken(c);
  let viewer: Viewer | null = null;
  if (token) {
    const config = c.get('config');
    // Session, user and grants in one query: one round trip to the database.
    const found = await withDb(config, (db) => resolveAuthSession(db, token, config.session));
    const user = found?.user;
    if (user && !user.disabled) viewer = { login: user.login, role: user.role, keys: found.keys, token };
  }
  c.set('viewer', viewer);
  return viewer;
}

/** The logged-in person, or 401 auth_required. */
export async function requireViewer(c: Context<EdgeEnv>): Promise<Viewer> {
  const v = await getViewer(c);
  if (!v) throw new HttpError('auth_required', 'log in first (your session may have expired)');
  return v;
}

/** An admin, or 401/403. */
export async function requireAdmin(c: Context<EdgeEnv>): Promise<Viewer> {
  const v = await requireViewer(c);
  if (v.role !== 'admin') throw new HttpError('forbidden', 'only an admin may do this');
  return v;
}

/** Whether the viewer may see and use a key (its surveys, its share link). */
export const mayUseKey = (v: Viewer, keyId: string) => v.role === 'admin' || v.keys.includes(keyId);
