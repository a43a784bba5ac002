// One configured secret, one key per purpose: every token kind is signed with its own key, derived by HKDF
// (WebCrypto: workerd, Node and browsers alike), so no token of one kind verifies as another and the
// configured secret itself never signs anything nor travels anywhere.

/** The HKDF label of each purpose; a new kind of token gets a new label, never a shared one. */
export const KEY_PURPOSES = {
  /** Edge → relay internal API calls. */
  relay: 'netpoke/v1/relay-token',
  /** Relay → edge capture hand-offs. */
  capture: 'netpoke/v1/capture-token',
  /** The opaque `session_id` handles the edge gives clients. */
  handle: 'netpoke/v1/session-handle',
  /** Reserved for tokens local mode mints for its own tools (none is signed yet), so they can never pass as the above. */
  local: 'netpoke/v1/local-token',
} as const;

export type KeyPurpose = keyof typeof KEY_PURPOSES;

/**
 * The configured secret (`RELAY_SHARED_SECRET`), which signs and verifies, and
 * optionally a second one (`RELAY_SHARED_SECRET_PREVIOUS`) that only verifies:
 * the one being retired, or the next one being brought in (README, rotation).
 */
export interface Secrets {
  current: string;
  previous?: string;
}

const enc = new TextEncoder();
// A fixed salt: the input is already a high-entropy secret (RFC 5869 §3.1 allows it); the label separates purposes.
const SALT = enc.encode('netpoke key derivation');
const cache = new Map<string, Promise<CryptoKey>>();

/** The HMAC-SHA-256 key for `purpose` derived from `secret` (HKDF-SHA-256), cached per secret and purpose. */
export function purposeKey(secret: string, purpose: KeyPurpose): Promise<CryptoKey> {
  const id = `${purpose}\u0000${secret}`;
  let key = cache.get(id);
  if (!key) {
    key = crypto.subtle
      .importKey('raw', enc.encode(secret), 'HKDF', false, ['deriveKey'])
      .then((master) =>
        crypto.subtle.deriveKey(
          { name: 'HKDF', hash: 'SHA-256', salt: SALT, info: enc.encode(KEY_PURPOSES[purpose]) },
          master,
          { name: 'HMAC', hash: 'SHA-256', length: 256 },
          false,
          ['sign', 'verify'],
        ),
      );
    cache.set(id, key);
  }
  return key;
}

/** The keys a token of `purpose` may verify with: the current secret's first, then the second secret's. */
export function verifyingKeys(secrets: Secrets, purpose: KeyPurpose): Promise<CryptoKey[]> {
  return Promise.all([secrets.current, ...(secrets.previous ? [secrets.previous] : [])].map((s) => purposeKey(s, purpose)));
}
