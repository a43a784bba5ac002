// Sign-ins under way (oidc_flows): what the callback needs to finish one, keyed by the SHA-256 of its state, used once.
import type { Db } from '../../shared/db/client.js';
import { sha256Hex } from '../../shared/signing.js';

/** A sign-in has this long between the start and the provider's callback. */
export const OIDC_FLOW_TTL_MS = 10 * 60_000;

/** What a started sign-in remembers until its callback. */
export interface OidcFlow {
  provider: string;
  codeVerifier: string;
  nonce: string;
  returnTo: string;
  /** Set when a logged-in person started it to link the identity to their login, rather than to sign in. */
  linkLogin?: string;
}

/** Stores a started sign-in under its state (only the state's hash is kept), clearing flows that were never finished. */
export async function saveOidcFlow(db: Db, state: string, flow: OidcFlow, now = Date.now()): Promise<void> {
  await db.batch(
    [
      { sql: 'DELETE FROM oidc_flows WHERE expires_at <= ?', args: [now] },
      {
        sql: 'INSERT INTO oidc_flows (state_hash, provider, code_verifier, nonce, return_to, link_login, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
        args: [await sha256Hex(state), flow.provider, flow.codeVerifier, flow.nonce, flow.returnTo, flow.linkLogin ?? null, now, now + OIDC_FLOW_TTL_MS],
      },
    ],
    'write',
  );
}

/**
 * Takes the sign-in a state names out of the table, or null (unknown, already
 * used, expired). Deleting and reading are one statement, so two callbacks
 * racing with the same state cannot both get it.
 */
export async function takeOidcFlow(db: Db, state: string, now = Date.now()): Promise<OidcFlow | null> {
  const rs = await db.execute({
    sql: 'DELETE FROM oidc_flows WHERE state_hash = ? RETURNING provider, code_verifier, nonce, return_to, link_login, expires_at',
    args: [await sha256Hex(state)],
  });
  const r = rs.rows[0];
  if (!r || Number(r.expires_at) <= now) return null;
  return {
    provider: String(r.provider),
    codeVerifier: String(r.code_verifier),
    nonce: String(r.nonce),
    returnTo: String(r.return_to ?? '/console'),
    ...(r.link_login != null ? { linkLogin: String(r.link_login) } : {}),
  };
}
