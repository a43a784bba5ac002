import type { z } from 'zod';
import { toHex } from './bytes.js';
import { fromBase64Url, toBase64Url } from './ids.js';
import { purposeKey, verifyingKeys, type KeyPurpose, type Secrets } from './secret-keys.js';

const enc = new TextEncoder();

/** Signs `claims` as `base64url(json).base64url(hmac-sha256)` with the current secret's key for `purpose`. */
export async function signToken(claims: object, secrets: Secrets, purpose: KeyPurpose): Promise<string> {
  const body = toBase64Url(enc.encode(JSON.stringify(claims)));
  const sig = await crypto.subtle.sign('HMAC', await purposeKey(secrets.current, purpose), enc.encode(body));
  return `${body}.${toBase64Url(new Uint8Array(sig))}`;
}

export type VerifyResult<T> = { ok: true; claims: T } | { ok: false; reason: 'malformed' | 'bad_signature' | 'expired' };

/** Checks a token's signature for `purpose` (constant time, by WebCrypto; either secret's key), its claims' shape and its `exp` (ms since epoch). */
export async function verifyToken<S extends z.ZodType<{ exp: number }>>(
  token: string,
  secrets: Secrets,
  purpose: KeyPurpose,
  schema: S,
  nowMs: number = Date.now(),
): Promise<VerifyResult<z.infer<S>>> {
  if (typeof token !== 'string' || token.length > 8192) return { ok: false, reason: 'malformed' };
  const parts = token.split('.');
  if (parts.length !== 2) return { ok: false, reason: 'malformed' };
  const [body, sigText] = parts as [string, string];
  const sig = fromBase64Url(sigText);
  if (!sig || !fromBase64Url(body)) return { ok: false, reason: 'malformed' };
  let good = false;
  for (const key of await verifyingKeys(secrets, purpose)) good ||= await crypto.subtle.verify('HMAC', key, sig, enc.encode(body));
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
