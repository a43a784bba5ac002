// `POST /api/auth/login`: password sign-in, limited per account and address, per address and per account, never saying which half was wrong.
import type { Context } from 'hono';
import { hashPassword, verifyPassword } from '../../shared/auth/password.js';
import { findUserStatement, recordLoginStatement, userFound } from '../../shared/db/users.js';
import { LoginRequestSchema } from '../../shared/protocol/accounts.js';
import { readJsonBody } from '../body.js';
import { withDb } from '../db.js';
import type { EdgeEnv } from '../env.js';
import { HttpError } from '../errors.js';
import { clientAddress } from '../rate-limit.js';
import { admitPasswordCheck, forgivePasswordCheck, forgivenPasswordCheck, passwordBuckets } from './password-attempts.js';
import { startLoginSession } from './session-cookie.js';

/** Signs a person in with login and password; answers `{login, role}` and sets the session cookie. */
export async function passwordLogin(c: Context<EdgeEnv>): Promise<Response> {
  const config = c.get('config');
  const body = await readJsonBody(c.req.raw, LoginRequestSchema, config.maxBodyBytes);
  const buckets = passwordBuckets(body.login, clientAddress(c.req.raw, config));
  return withDb(config, async (db) => {
    const now = Date.now();
    // Counted before the password is checked, so a locked account cannot be probed further, not even by many
    // guesses at once; the user is read in the same round trip.
    const [found] = await admitPasswordCheck(db, config, buckets, now, [findUserStatement(body.login.trim())]);
    const user = userFound(found);
    const check = await verifyPassword(body.password, user?.password_hash ?? null);
    if (!user || !check.ok) throw new HttpError('login_failed', 'login or password is wrong');
    // Only someone who knows the password learns that the account is disabled.
    if (user.disabled_at !== null) {
      await forgivePasswordCheck(db, buckets);
      throw new HttpError('forbidden', 'this account is disabled; ask an admin to enable it');
    }
    // A second round trip, as the hash must be checked between the count and these writes: the check is
    // forgiven, the login recorded and the session opened in one write batch.
    const rehashed = check.rehash ? await hashPassword(body.password) : null;
    await startLoginSession(c, db, user.login, 'password', [...forgivenPasswordCheck(buckets), recordLoginStatement(user.login, rehashed, now)]);
    return c.json({ login: user.login, role: user.role });
  });
}
