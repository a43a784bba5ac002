import { SessionHandleClaimsSchema, type SessionHandleClaims } from '../shared/protocol/relay-api.js';
import type { Secrets } from '../shared/secret-keys.js';
import { signToken, verifyToken } from '../shared/signing.js';
import { HttpError } from './errors.js';

/** A handle routes trickled candidates, which only matter while the connection is being set up. */
export const HANDLE_TTL_MS = 10 * 60_000;

/** The opaque `session_id` given to a client: names the relay and the peer, signed by the edge with the handle key (never a relay token's). */
export function issueHandle(secrets: Secrets, peer: Omit<SessionHandleClaims, 'typ' | 'exp'>, now = Date.now()): Promise<string> {
  return signToken({ typ: 'handle', ...peer, exp: now + HANDLE_TTL_MS } satisfies SessionHandleClaims, secrets, 'handle');
}

/** Reads a handle without a database read; 403 `forbidden` when it is forged, altered or expired. */
export async function readHandle(secrets: Secrets, sessionId: string, now = Date.now()): Promise<SessionHandleClaims> {
  const v = await verifyToken(sessionId, secrets, 'handle', SessionHandleClaimsSchema, now);
  if (!v.ok) throw new HttpError('forbidden', v.reason === 'expired' ? 'session_id: this session handle has expired' : 'session_id: not a session handle issued by this server');
  return v.claims;
}
