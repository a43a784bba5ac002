import type { z } from 'zod';
import { toHex } from './bytes.js';
import { fromBase64Url, toBase64Url } from './ids.js';

const enc = new TextEncoder();
const keyCache = new Map<string, Promise<CryptoKey>>();

function hmacKey(secret: string): Promise<CryptoKey> {
  let key = keyCache.get(secret);
  if (!key) {
    key = crypto.subtle.importKey('raw', enc.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']);
    keyCache.set(secret, key);
  }
  return key;
}

/** Signs `claims` as `base64url(json).base64url(hmac-sha256)`. */
export async function signToken(claims: object, secret: string): Promise<string> {
  const body = toBase64Url(enc.encode(JSON.stringify(claims)));
  const sig = await crypto.subtle.sign('HMAC', await hmacKey(secret), enc.encode(body));
  return `${body}.${toBase64Url(new Uint8Array(sig))}`;
}

export type VerifyResult<T> = { ok: true; claims: T } | { ok: false; reason: 'malformed' | 'bad_signature' | 'expired' };

/** Checks a token's signature (constant time, by WebCrypto), its claims' shape and its `exp` (ms since epoch). */
export async function verifyToken<S extends z.ZodType<{ exp: number }>>(
  token: string,
  secret: string,
  schema: S,
  nowMs: number = Date.now(),
): Promise<VerifyResult<z.infer<S>>> {
  if (typeof token !== 'string' || token.length > 8192) return { ok: false, reason: 'malformed' };
  const parts = token.split('.');
  if (parts.length !== 2) return { ok: false, reason: 'malformed' };
  const [body, sigText] = parts as [string, string];
  const sig = fromBase64Url(sigText);
  if (!sig || !fromBase64Url(body)) return { ok: false, reason: 'malformed' };
  const good = await crypto.subtle.verify('HMAC', await hmacKey(secret), sig, enc.encode(body));
  if (!good) return { ok: false, reason: 'bad_signature' };
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(fromBase64Url(body)!));
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) return { ok: false, reason: 'malformed' };
  if (parsed.data.exp <= nowMs) return { ok: false, reason: 'expired' };
  return { ok: true, claims: parsed.data };
}

/** SHA-256 of a text, hex: keys are looked up by hash so timing reveals nothing about their prefix. */
export async function sha256Hex(text: string): Promise<string> {
  return sha256HexOfBytes(enc.encode(text));
}

/** Hex SHA-256 of bytes (a recording's chunk, a whole file read into memory). */
export async function sha256HexOfBytes(bytes: BufferSource): Promise<string> {
  return toHex(new Uint8Array(await crypto.subtle.digest('SHA-256', bytes)));
}
