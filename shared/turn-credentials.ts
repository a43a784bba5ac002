// TURN REST API credentials (draft-uberti-behave-turn-rest), the scheme coturn's `use-auth-secret` checks:
// the TURN server recomputes the credential from the username and refuses it once the expiry has passed,
// so no long-lived TURN password ever reaches a browser. WebCrypto only: this runs in workerd and in Node.
import { randomToken } from './ids.js';

export interface TurnCredentials {
  /** `<expiry unix seconds>:<random id>` */
  username: string;
  /** base64(HMAC-SHA1(secret, username)) */
  credential: string;
  /** Unix seconds after which the TURN server refuses these credentials. */
  expiresAtS: number;
}

export interface MintOptions {
  /** Lifetime in seconds; negative mints credentials that have already expired (tests). */
  ttlS: number;
  nowMs?: number;
  /** The part after the colon; random unless given. */
  id?: string;
}

const enc = new TextEncoder();

/** Mints one set of short-lived TURN credentials for `secret` (coturn's `static-auth-secret`). */
export async function mintTurnCredentials(secret: string, opts: MintOptions): Promise<TurnCredentials> {
  const expiresAtS = Math.floor((opts.nowMs ?? Date.now()) / 1000) + opts.ttlS;
  const username = `${expiresAtS}:${opts.id ?? randomToken(12)}`;
  const key = await crypto.subtle.importKey('raw', enc.encode(secret), { name: 'HMAC', hash: 'SHA-1' }, false, ['sign']);
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', key, enc.encode(username)));
  let bin = '';
  for (const b of mac) bin += String.fromCharCode(b);
  return { username, credential: btoa(bin), expiresAtS };
}
