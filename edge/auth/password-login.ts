// `POST /api/auth/login`: password sign-in, rate-limited per account and per address, never saying which half was wrong.
import type { Context } from 'hono';
import { hashPassword, verifyPassword } from '../../shared/auth/password.js';
import { findUser, recordLogin } from '../../shared/db/users.js';
import { LoginRequestSchema } from '../../shared/protocol/accounts.js';
import { readJsonBody } from '../body.js';
import { withDb } from '../db.js';
import type { EdgeEnv } from '../env.js';
import { HttpError } from '../errors.js';
import { clearFailures, clientAddress, isRateLimited, recordKeyFailure } from '../rate-limit.js';
import { startLoginSession } from './session-cookie.js';

/** Signs a person in with login and password; answers `{login, role}` and sets the session cookie. */
export async function passwordLogin(c: Context<EdgeEnv>): Promise<Response> {
  const config = c.get('config');
  const body = await readJsonBody(c.req.raw, LoginRequestSchema, config.maxBodyBytes);
  const { account, address, windowMs } = config.loginLimits;
  const accountBucket = `login:${body.login.trim().toLowerCase()}`;
  const addressBucket = `addr:${clientAddress(c.req.raw)}`;
  return withDb(config, async (db) => {
    const now = Date.now();
    const [accountLocked, addressLocked] = await Promise.all([
      isRateLimited(db, accountBucket, { limit: account, windowMs }, now, 'login_failures'),
      isRateLimited(db, addressBucket, { limit: address, windowMs }, now, 'login_failures'),
    ]);
    // Checked before the password, so a locked account cannot be probed further; said the same way for both, so it tells nothing about the login.
    if (accountLocked || addressLocked) throw new HttpError('rate_limited', `too many failed logins; try again in ${Math.ceil(windowMs / 60_000)} minutes`);
    const user = await findUser(db, body.login.trim());
    const check = await verifyPassword(body.password, user?.password_hash ?? null);
    if (!user || !check.ok) {
      await Promise.all([
        recordKeyFailure(db, accountBucket, { limit: account, windowMs }, now, 'login_failures'),
        recordKeyFailure(db, addressBucket, { limit: address, windowMs }, now, 'login_failures'),
      ]);
      throw new HttpError('login_failed', 'login or password is wrong');
    }
    // Only someone who knows the password learns that the account is disabled.
    if (user.disabled_at !== null) throw new HttpError('forbidden', 'this account is disabled; ask an admin to enable it');
    await clearFailures(db, accountBucket, 'login_failures');
    await recordLogin(db, user.login, check.rehash ? await hashPassword(body.password) : null, now);
    await startLoginSession(c, db, user.login, 'password');
    return c.json({ login: user.login, role: user.role });
  });
}
