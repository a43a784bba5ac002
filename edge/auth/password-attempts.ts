// The limit on password checks (login and password change): every check is counted before the hash runs.
import type { Db } from '../../shared/db/client.js';
import type { EdgeConfig } from '../config.js';
import { HttpError } from '../errors.js';
import { clearFailures, countAttempt, uncountAttempt } from '../rate-limit.js';

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
 * so it tells nothing about the login.
 */
export async function admitPasswordCheck(db: Db, config: EdgeConfig, b: PasswordBuckets, now = Date.now()): Promise<void> {
  const { account, address, accountCeiling, windowMs } = config.loginLimits;
  const admitted = await countAttempt(
    db,
    'login_failures',
    [
      { bucket: b.address, limit: address },
      { bucket: b.accountFromAddress, limit: account },
      { bucket: b.account, limit: accountCeiling },
    ],
    windowMs,
    now,
  );
  if (!admitted) throw new HttpError('rate_limited', `too many password attempts; try again in ${Math.ceil(windowMs / 60_000)} minutes`);
}

/** A right password: its check is not held against the address or the account, and this address's failures with the account are forgotten. */
export async function forgivePasswordCheck(db: Db, b: PasswordBuckets): Promise<void> {
  await Promise.all([uncountAttempt(db, 'login_failures', [b.address, b.account]), clearFailures(db, b.accountFromAddress, 'login_failures')]);
}
