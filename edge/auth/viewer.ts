// Who is asking: the logged-in person behind a request's session cookie, looked up once per request in one query.
import type { Context } from 'hono';
import { resolveAuthSession, resolveAuthSessionStatements, sessionViewerFrom, type SessionViewer } from '../../shared/db/auth-sessions.js';
import type { InStatement, ResultSet } from '../../shared/db/client.js';
import type { Role } from '../../shared/db/users.js';
import { knownGrants, type GrantsSql } from '../../shared/db/viewer-grants.js';
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
  return (await lookUpViewer(c))?.viewer ?? null;
}

/** The logged-in person, or 401 auth_required. */
export async function requireViewer(c: Context<EdgeEnv>): Promise<Viewer> {
  const v = await getViewer(c);
  if (!v) throw authRequired();
  return v;
}

/**
 * The logged-in person (or 401 auth_required) and the results of `statements`, read in one round trip:
 * the statements see the viewer's grants as SQL (GrantsSql), so they need not wait for the viewer's lookup.
 */
export async function readAsViewer(c: Context<EdgeEnv>, statements: (grants: GrantsSql) => InStatement[]): Promise<{ viewer: Viewer; results: ResultSet[] }> {
  const known = c.get('viewer');
  if (known) return { viewer: known, results: await withDb(c.get('config'), (db) => db.batch(statements(knownGrants(known)), 'read')) };
  const read = known === undefined ? await lookUpViewer(c, statements) : null;
  if (!read?.viewer) throw authRequired();
  return { viewer: read.viewer, results: read.results };
}

/** Looks the cookie's session up (session, user and grants in one query, with `alongside` in the same batch) and remembers the viewer for the request. */
async function lookUpViewer(c: Context<EdgeEnv>, alongside?: (grants: GrantsSql) => InStatement[]): Promise<{ viewer: Viewer | null; results: ResultSet[] } | null> {
  const token = readSessionToken(c);
  let read: { viewer: Viewer | null; results: ResultSet[] } | null = null;
  if (token) {
    const config = c.get('config');
    const { found, results } = await withDb(config, (db) => resolveAuthSession(db, token, config.session, Date.now(), alongside));
    read = { viewer: viewerOf(found, token), results };
  }
  c.set('viewer', read?.viewer ?? null);
  return read;
}

/**
 * The viewer's lookup as statements for a caller's write batch, where the session's upkeep (an ended one removed,
 * last use moved on) costs no round trip of its own; `from` reads the viewer out of those statements' results
 * (given in order) and remembers it for the request. No statements when there is no cookie or the viewer is known.
 */
export async function viewerInWriteBatch(c: Context<EdgeEnv>): Promise<{ statements: InStatement[]; from(results: readonly ResultSet[]): Viewer | null }> {
  const known = c.get('viewer');
  const token = readSessionToken(c);
  if (known !== undefined || !token) {
    const viewer = known ?? null;
    return {
      statements: [],
      from: () => {
        c.set('viewer', viewer);
        return viewer;
      },
    };
  }
  const config = c.get('config');
  const now = Date.now();
  const statements = await resolveAuthSessionStatements(token, config.session, now);
  return {
    statements,
    from(results) {
      const found = sessionViewerFrom(results[statements.length - 1], config.session, now);
      const viewer = viewerOf(found === 'ended' ? null : found, token);
      c.set('viewer', viewer);
      return viewer;
    },
  };
}

function viewerOf(found: SessionViewer | null, token: string): Viewer | null {
  const user = found?.user;
  return user && !user.disabled ? { login: user.login, role: user.role, keys: found.keys, token } : null;
}

const authRequired = () => new HttpError('auth_required', 'log in first (your session may have expired)');

/** An admin, or 401/403. */
export async function requireAdmin(c: Context<EdgeEnv>): Promise<Viewer> {
  return adminOnly(await requireViewer(c));
}

/** The viewer if an admin, else 403 (for a viewer read with readAsViewer). */
export function adminOnly(v: Viewer): Viewer {
  if (v.role !== 'admin') throw new HttpError('forbidden', 'only an admin may do this');
  return v;
}

/** Whether the viewer may see and use a key (its surveys, its share link). */
export const mayUseKey = (v: Viewer, keyId: string) => v.role === 'admin' || v.keys.includes(keyId);
