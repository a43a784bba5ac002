import { SessionHandleClaimsSchema, type SessionHandleClaims } from '../shared/protocol/relay-api.js';
import { signToken, verifyToken } from '../shared/signing.js';
import { HttpError } from './errors.js';

/** A handle routes trickled candidates, which only matter while the connection is being set up. */
export const HANDLE_TTL_MS = 10 * 60_000;

/**
 * Handles are signed with a key derived from the relay secret, never the
 * secret itself, so no handle a client holds can double as a relay token.
 */
const handleSecret = (sharedSecret: string) => `netpoke-session-handle:${sharedSecret}`;

/** The opaque `session_id` given to a client: names the relay and the peer, signed by the edge. */
export function issueHandle(sharedSecret: string, peer: Omit<SessionHandleClaims, 'typ' | 'exp'>, now = Date.now()): Promise<string> {
  return signToken({ typ: 'handle', ...peer, exp: now + HANDLE_TTL_MS } satisfies SessionHandleClaims, handleSecret(sharedSecret));
}

/** Reads a handle without a database read; 403 `forbidden` when it is forged, altered or expired. */
export async function readHandle(sharedSecret: string, sessionId: string, now = Date.now()): Promise<SessionHandleClaims> {
  const v = await verifyToken(sessionId, handleSecret(sharedSecret), SessionHandleClaimsSchema, now);
  if (!v.ok) throw new HttpError('forbidden', v.reason === 'expired' ? 'session_id: this session handle has expired' : 'session_id: not a session handle issued by this server');
  return v.claims;
}
