// The login-session cookie: HttpOnly, SameSite=Lax, Secure over https, naming a server-side auth_sessions row.
import type { Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import type { Db, InStatement } from '../../shared/db/client.js';
import { openAuthSession } from '../../shared/db/auth-sessions.js';
import type { EdgeEnv } from '../env.js';

export const SESSION_COOKIE = 'np_session';

const secure = (c: Context) => new URL(c.req.url).protocol === 'https:';

/** The token the request's cookie carries, if it looks like one. */
export function readSessionToken(c: Context): string | null {
  const t = getCookie(c, SESSION_COOKIE);
  return t && /^[A-Za-z0-9_-]{43}$/.test(t) ? t : null;
}

/** Opens a session for `login` and sets its cookie on the response (password or OpenID sign-in); `alongside` goes in the same write batch. */
export async function startLoginSession(c: Context<EdgeEnv>, db: Db, login: string, method: 'password' | 'oidc', alongside: readonly InStatement[] = []): Promise<void> {
  const limits = c.get('config').session;
  const token = await openAuthSession(db, login, method, limits, c.req.header('user-agent') ?? null, Date.now(), alongside);
  setCookie(c, SESSION_COOKIE, token, { httpOnly: true, sameSite: 'Lax', secure: secure(c), path: '/', maxAge: Math.floor(limits.maxMs / 1000) });
}

/** Tells the browser to forget the cookie. */
export function clearSessionCookie(c: Context): void {
  deleteCookie(c, SESSION_COOKIE, { path: '/', secure: secure(c), httpOnly: true, sameSite: 'Lax' });
}
