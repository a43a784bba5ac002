import type { Db, InStatement, ResultSet } from '../shared/db/client.js';
import { KEY_REFUSAL_WORDS, magicKeyByHashStatement, keyState, magicKeyFound, type KeyRefusal, type MagicKey } from '../shared/db/keys.js';
import type { BreakerPolicy } from '../shared/db/relay-health.js';
import { releaseRelayPeer, reserveRelayPeer } from '../shared/db/relays.js';
import { sha256Hex } from '../shared/signing.js';
import { HttpError } from './errors.js';
import { rateLimited, rateLimitStatement, recordKeyFailure, type FailureLimit } from './rate-limit.js';

/** The magic key of a request: the body field wins over `Authorization: MagicKey <key>`; null when neither is there. */
export function requestMagicKey(bodyKey: string | undefined, authorization: string | undefined): string | null {
  if (bodyKey) return bodyKey;
  const m = /^MagicKey\s+(\S{1,256})\s*$/i.exec(authorization ?? '');
  return m?.[1] ?? null;
}

/** Whether a stored key (or none) may be used now. */
function judgeKey(key: MagicKey | null, now: number): { ok: true; key: MagicKey } | { ok: false; code: KeyRefusal } {
  if (!key) return { ok: false, code: 'key_invalid' };
  const state = keyState(key, now);
  return state === 'valid' ? { ok: true, key } : { ok: false, code: state };
}

/** The error a refused key gets. */
export function keyRefused(code: KeyRefusal): HttpError {
  return new HttpError(code, KEY_REFUSAL_WORDS[code]);
}

/**
 * The key check of every keyed route: the key when it may be used now; else its
 * refusal (429 once the caller's address has used up its failed attempts),
 * counted as a failed attempt. The key decides first, so a valid key passes
 * even from a locked address (PROTOCOL.md §1).
 */
export async function admitKey(db: Db, address: string, text: string, limit: FailureLimit, now = Date.now()): Promise<MagicKey> {
  // The key and the address's failure count in one round trip.
  const check = await keyCheck(address, text, limit, now);
  return check.judge(db, await db.batch(check.statements, 'read'));
}

/**
 * admitKey's reads as statements for a caller's batch (the key's hash beside them), and its judgement of their
 * results, in order: the key, or the refusal admitKey gives.
 */
export async function keyCheck(
  address: string,
  text: string,
  limit: FailureLimit,
  now: number,
): Promise<{ keyHash: string; statements: InStatement[]; judge(db: Db, results: readonly ResultSet[]): Promise<MagicKey> }> {
  const keyHash = await sha256Hex(text);
  return {
    keyHash,
    statements: [magicKeyByHashStatement(keyHash), rateLimitStatement(address, limit, now)],
    async judge(db, [keyRs, failuresRs]) {
      const found = judgeKey(magicKeyFound(keyRs), now);
      if (found.ok) return found.key;
      // A second round trip for a refused key only: counting every request's key would make each one a write.
      await recordKeyFailure(db, address, limit, now);
      const limited = rateLimited(failuresRs, limit);
      if (limited) throw new HttpError('rate_limited', 'too many failed magic-key attempts from this address; try again later');
      throw keyRefused(found.code);
    },
  };
}

/**
 * Reserves one of the key's `max_concurrent_sessions` and one of the relay's slots for a peer on `relayId`, before
 * the relay is asked: refused with key_limit_reached when all the key's are in use (counted on relays fresh since
 * `freshSince`); false when the relay has no slot for it now (full, draining, stale or backed off: try another).
 * The caller releases the reservation (releaseSession) if the relay does not take the peer.
 */
export async function reserveSession(
  db: Db,
  key: MagicKey,
  peer: { peerId: string; relayId: string; connId: string },
  opts: { freshSince: number; breaker: BreakerPolicy; now?: number },
): Promise<boolean> {
  const max = key.max_concurrent_sessions;
  const row = { peer_id: peer.peerId, relay_id: peer.relayId, magic_key: key.key, conn_id: peer.connId };
  const out = await reserveRelayPeer(db, row, { maxPerKey: max, ...opts });
  if (out !== 'key_limit') return out === 'reserved';
  throw keyLimitReached(max ?? 0);
}

/** The error of a key whose `max` concurrent sessions are all in use. */
export function keyLimitReached(max: number): HttpError {
  return new HttpError('key_limit_reached', `this magic key allows ${max} concurrent connection${max === 1 ? '' : 's'}, and ${max === 1 ? 'it is' : 'all are'} in use; stop one, or try again shortly`);
}

/** Gives a reservation back; a failure is logged, and the relay's sweep of stray rows closes it later. */
export async function releaseSession(db: Db, peerId: string): Promise<void> {
  try {
    await releaseRelayPeer(db, peerId);
  } catch (e) {
    console.warn(`edge: releasing the reservation of peer ${peerId} failed: ${String((e as Error).message ?? e)}`);
  }
}
