// The /api/auth routes (PROTOCOL.md §4): login, logout (here or everywhere), who am I, password change.
import { Hono } from 'hono';
import { hashPassword, verifyPassword } from '../../shared/auth/password.js';
import { closeAuthSession, closeUserSessions } from '../../shared/db/auth-sessions.js';
import { findUserStatement, updateUser, userFound } from '../../shared/db/users.js';
import { PasswordChangeSchema, type MeView } from '../../shared/protocol/accounts.js';
import { readJsonBody } from '../body.js';
import { withDb } from '../db.js';
import type { EdgeEnv } from '../env.js';
import { HttpError } from '../errors.js';
import { clientAddress } from '../rate-limit.js';
import { admitPasswordCheck, forgivePasswordCheck, passwordBuckets } from './password-attempts.js';
import { passwordLogin } from './password-login.js';
import { clearSessionCookie, readSessionToken } from './session-cookie.js';
import { requireViewer } from './viewer.js';

/** Routes under /api/auth. */
export function authRoutes(): Hono<EdgeEnv> {
  const app = new Hono<EdgeEnv>();

  app.post('/login', passwordLogin);

  app.post('/logout', async (c) => {
    const token = readSessionToken(c);
    if (token) await withDb(c.get('config'), (db) => closeAuthSession(db, token));
    clearSessionCookie(c);
    return c.body(null, 204);
  });

  // Ends every session of the person but this one (a lost phone, a shared computer).
  app.post('/logout-everywhere', async (c) => {
    const v = await requireViewer(c);
    const ended = await withDb(c.get('config'), (db) => closeUserSessions(db, v.login, v.token));
    return c.json({ ended_sessions: ended });
  });

  app.get('/me', async (c) => {
    const v = await requireViewer(c);
    return c.json({ login: v.login, role: v.role, keys: v.keys } satisfies MeView);
  });

  app.post('/password', async (c) => {
    const config = c.get('config');
    const v = await requireViewer(c);
    const body = await readJsonBody(c.req.raw, PasswordChangeSchema, config.maxBodyBytes);
    const buckets = passwordBuckets(v.login, clientAddress(c.req.raw, config));
    await withDb(config, async (db) => {
      // The account's login limits hold here too: a stolen session cookie must not buy unlimited guesses of the password.
      const user = userFound((await admitPasswordCheck(db, config, buckets, Date.now(), [findUserStatement(v.login)]))[0]);
      if (!(await verifyPassword(body.current_password, user?.password_hash ?? null)).ok) {
        throw new HttpError('login_failed', 'current_password: the current password is wrong');
      }
      await forgivePasswordCheck(db, buckets);
      await updateUser(db, v.login, { passwordHash: await hashPassword(body.new_password) });
      await closeUserSessions(db, v.login, v.token);
    });
    return c.body(null, 204);
  });

  return app;
}
