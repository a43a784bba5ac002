import type { CaptureTokenClaims } from './protocol/relay-api.js';
import type { Secrets } from './secret-keys.js';
import { signToken } from './signing.js';

/** A capture hand-off token lives this long: one upload (a 64 MiB file over a slow link included). */
export const CAPTURE_TOKEN_TTL_MS = 10 * 60_000;

/** Signs the token a relay's capture hand-off to the edge carries: this one file, by name and SHA-256. */
export function signCaptureToken(claims: Omit<CaptureTokenClaims, 'typ' | 'exp'>, secrets: Secrets, ttlMs = CAPTURE_TOKEN_TTL_MS): Promise<string> {
  return signToken({ typ: 'capture', exp: Date.now() + ttlMs, ...claims } satisfies CaptureTokenClaims, secrets, 'capture');
}
