import type { Db } from '../shared/db/client.js';
import { findMagicKey, keyState, type MagicKey } from '../shared/db/keys.js';
import { countOpenPeers } from '../shared/db/relays.js';
import { HttpError } from './errors.js';
import { isRateLimited, recordKeyFailure, type FailureLimit } from './rate-limit.js';

/** The magic key of a request: the body field wins over `Authorization: MagicKey <key>`; null when neither is there. */
export function requestMagicKey(bodyKey: string | undefined, authorization: string | undefined): string | null {
  if (bodyKey) return bodyKey;
  const m = /^MagicKey\s+(\S{1,256})\s*$/i.exec(authorization ?? '');
  return m?.[1] ?? null;
}

/** Codes of a key that was refused for what it is (these count as failed attempts for the rate limit). */
export type KeyRefusal = 'key_invalid' | 'key_expired' | 'key_revoked';

const REFUSALS: Record<KeyRefusal, string> = {
  key_invalid: 'this magic key is not known',
  key_expired: 'this magic key has expired',
  key_revoked: 'this magic key has been revoked',
};

/** Looks a key up by its hash and checks it may be used now. */
export async function lookUpKey(db: Db, text: string, now = Date.now()): Promise<{ ok: true; key: MagicKey } | { ok: false; code: KeyRefusal }> {
  const key = await findMagicKey(db, text);
  if (!key) return { ok: false, code: 'key_invalid' };
  const state = keyState(key, now);
  return state === 'valid' ? { ok: true, key } : { ok: false, code: state };
}

/** The error a refused key gets. */
export function keyRefused(code: KeyRefusal): HttpError {
  return new HttpError(code, REFUSALS[code]);
}

/**
 * The key check of every keyed route: the key when it may be used now; else its
 * refusal (429 once the caller's address has used up its failed attempts),
 * counted as a failed attempt. The key decides first, so a valid key passes
 * even from a locked address (PROTOCOL.md §1).
 */
export async function admitKey(db: Db, address: string, text: string, limit: FailureLimit, now = Date.now()): Promise<MagicKey> {
  const [found, limited] = await Promise.all([lookUpKey(db, text, now), isRateLimited(db, address, limit, now)]);
  if (found.ok) return found.key;
  await recordKeyFailure(db, address, limit, now);
  if (limited) throw new HttpError('rate_limited', 'too many failed magic-key attempts from this address; try again later');
  throw keyRefused(found.code);
}

/** Refuses a key already holding its `max_concurrent_sessions` open peers on live relays. */
export async function checkConcurrency(db: Db, key: MagicKey, freshSince: number): Promise<void> {
  const max = key.max_concurrent_sessions;
  if (max == null) return;
  const open = await countOpenPeers(db, key.key, freshSince);
  if (open >= max) throw new HttpError('key_limit_reached', `this magic key allows ${max} concurrent connection${max === 1 ? '' : 's'}, and ${open} ${open === 1 ? 'is' : 'are'} open`);
}
