import type { RelayTokenClaims } from './protocol/relay-api.js';
import { uuid } from './ids.js';
import type { Secrets } from './secret-keys.js';
import { signToken } from './signing.js';

/** Relay tokens live this long: enough for one call, too short to be worth stealing. */
export const RELAY_TOKEN_TTL_MS = 30_000;

/** Signs the token one call to relay `relayId`'s internal API carries, with a fresh `jti` (the relay takes it once). */
export function signRelayToken(relayId: string, claims: Omit<RelayTokenClaims, 'typ' | 'aud' | 'exp' | 'jti'>, secrets: Secrets, ttlMs = RELAY_TOKEN_TTL_MS): Promise<string> {
  return signToken({ typ: 'relay', aud: relayId, exp: Date.now() + ttlMs, jti: uuid(), ...claims } satisfies RelayTokenClaims, secrets, 'relay');
}
