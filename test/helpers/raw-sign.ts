// The signing scheme before per-purpose keys: HMAC-SHA-256 keyed with a secret's own bytes. Tests use it to
// play an attacker who holds a secret (or the metrics credential) and signs tokens with it directly.
import { toBase64Url } from '../../shared/ids.js';

const enc = new TextEncoder();

/** `base64url(json).base64url(hmac-sha256(secret, body))`, the token format, keyed with `secret` itself. */
export async function signWithRawSecret(claims: object, secret: string): Promise<string> {
  const body = toBase64Url(enc.encode(JSON.stringify(claims)));
  const key = await crypto.subtle.importKey('raw', enc.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  return `${body}.${toBase64Url(new Uint8Array(await crypto.subtle.sign('HMAC', key, enc.encode(body))))}`;
}
