// The limit on password checks (login and password change): every check is counted before the hash runs.
import type { Db, InStatement, ResultSet } from '../../shared/db/client.js';
import type { EdgeConfig } from '../config.js';
import { HttpError } from '../errors.js';
import { attemptCount, clearFailures, uncountAttempt } from '../rate-limit.js';

/** The buckets one password check is counted in. */
export interface PasswordBuckets {
  /** Checks from this address, whatever the account. */
  address: string;
  /** Checks of this account from this address: the tight limit, which only that address can use up. */
  accountFromAddress: string;
  /** Checks of this account from anywhere: the ceiling against guessing from many addresses. */
  account: string;
}

/** Where a check of `login` from `address` is counted. Logins are case-insensitive, so their buckets are too. */
export function passwordBuckets(login: string, address: string): PasswordBuckets {
  const account = login.trim().toLowerCase();
  return { address: `addr:${address}`, accountFromAddress: `login:${account}|addr:${address}`, account: `account:${account}` };
}

/**
 * Counts one password check and refuses it with 429 `rate_limited` when any of its buckets is over its limit,
 * before any hashing: parallel guesses get at most the limit of checks. Said the same way for every bucket,
 * so it tells nothing about the login. `alongside` (e.g. the user lookup) runs after the counts in the same
 * write batch, one round trip; their results are returned.
 */
export async function admitPasswordCheck(db: Db, config: EdgeConfig, b: PasswordBuckets, now = Date.now(), alongside: readonly InStatement[] = []): Promise<ResultSet[]> {
  const { account, address, accountCeiling, windowMs } = config.loginLimits;
  const count = attemptCount(
    'login_failures',
    [
      { bucket: b.address, limit: address },
      { bucket: b.accountFromAddress, limit: account },
      { bucket: b.account, limit: accountCeiling },
    ],
    windowMs,
    now,
  );
  const results = await db.batch([...count.statements, ...alongside], 'write');
  if (!count.admitted(results)) throw new HttpError('rate_limited', `too many password attempts; try again in ${Math.ceil(windowMs / 60_000)} minutes`);
  return results.slice(count.statements.length);
}

/** The statements that forgive a right password: its check is not held against the address or the account, and this address's failures with the account are forgotten. */
export function forgivenPasswordCheck(b: PasswordBuckets): InStatement[] {
  return [uncountAttempt('login_failures', [b.address, b.account]), clearFailures(b.accountFromAddress, 'login_failures')];
}

/** Runs forgivenPasswordCheck's statements in one round trip. */
export async function forgivePasswordCheck(db: Db, b: PasswordBuckets): Promise<void> {
  await db.batch(forgivenPasswordCheck(b), 'write');
}
