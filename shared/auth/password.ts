// Password hashing that runs the same in workerd and Node: WebCrypto PBKDF2-SHA256, parameters stored beside the hash.
import { fromBase64Url, toBase64Url } from '../ids.js';

/**
 * workerd refuses PBKDF2 above 100,000 iterations (it bounds CPU per request),
 * so that is the most a hash made or checked at the edge can use. The count is
 * stored in each hash: raising it later re-hashes on the next login.
 */
export const PBKDF2_ITERATIONS = 100_000;
const SALT_BYTES = 16;
const HASH_BYTES = 32;
const SCHEME = 'pbkdf2-sha256';

/** Passwords are at least this long; an upper bound keeps a single hash cheap to refuse. */
export const PASSWORD_MIN = 10;
export const PASSWORD_MAX = 256;

const enc = new TextEncoder();

async function derive(password: string, salt: Uint8Array<ArrayBuffer>, iterations: number): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey('raw', enc.encode(password), 'PBKDF2', false, ['deriveBits']);
  const bits = await crypto.subtle.deriveBits({ name: 'PBKDF2', hash: 'SHA-256', salt, iterations }, key, HASH_BYTES * 8);
  return new Uint8Array(bits);
}

/** Hashes a password as `pbkdf2-sha256$<iterations>$<salt>$<hash>` (base64url), a fresh random salt each time. */
export async function hashPassword(password: string, iterations = PBKDF2_ITERATIONS): Promise<string> {
  const salt = crypto.getRandomValues(new Uint8Array(SALT_BYTES));
  const hash = await derive(password, salt, iterations);
  return `${SCHEME}$${iterations}$${toBase64Url(salt)}$${toBase64Url(hash)}`;
}

interface Parsed {
  iterations: number;
  salt: Uint8Array<ArrayBuffer>;
  hash: Uint8Array;
}

function parse(stored: string): Parsed | null {
  const [scheme, iter, saltText, hashText, ...rest] = stored.split('$');
  if (scheme !== SCHEME || rest.length || !iter || !/^\d{1,7}$/.test(iter)) return null;
  const iterations = Number(iter);
  const salt = fromBase64Url(saltText ?? '');
  const hash = fromBase64Url(hashText ?? '');
  if (!salt || !hash || iterations < 1 || iterations > PBKDF2_ITERATIONS || hash.length !== HASH_BYTES) return null;
  return { iterations, salt, hash };
}

/** Equal-length byte comparison whose time does not depend on where the bytes differ. */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/** A hash of no password, checked when the login is unknown so that the answer takes as long as for a known one. */
const DUMMY = `${SCHEME}$${PBKDF2_ITERATIONS}$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA`;

/**
 * Whether `password` matches `stored` (null: no password set, or no such user — the same work is done either way).
 * `rehash` says the stored parameters are below today's and the hash should be replaced.
 */
export async function verifyPassword(password: string, stored: string | null): Promise<{ ok: boolean; rehash: boolean }> {
  const p = parse(stored ?? DUMMY) ?? parse(DUMMY)!;
  const hash = await derive(password, p.salt, p.iterations);
  const ok = stored !== null && parse(stored) !== null && constantTimeEqual(hash, p.hash);
  return { ok, rehash: ok && p.iterations < PBKDF2_ITERATIONS };
}

/** A random password for generated accounts (local admin, CLI): 18 bytes, 24 base64url characters. */
export function generatePassword(): string {
  return toBase64Url(crypto.getRandomValues(new Uint8Array(18)));
}
