import {
  RelayCreatePeerResponseSchema,
  type RelayCreatePeerRequest,
  type RelayCreatePeerResponse,
  type RelayIceRequest,
  type RelayTokenClaims,
} from '../shared/protocol/relay-api.js';
import { signRelayToken } from '../shared/relay-token.js';
import type { Secrets } from '../shared/secret-keys.js';

/** Where a relay's internal API is, and the id its tokens are addressed to. */
export interface RelayTarget {
  id: string;
  url: string;
}

/** What the edge vouches for when it asks a relay for a peer. */
export interface PeerGrant {
  peerId: string;
  /** The key by its key_id: the relay reads the key itself, so the key never travels in a token. */
  keyId: string;
  userLogin: string | null;
  maxMeasuringMs: number | null;
}

/** How a relay call ended. `status` null: no answer (refused connection, timeout). `mayExist`: a peer may have been created and must be closed. */
export type RelayOutcome<T> =
  | { ok: true; value: T }
  | { ok: false; status: number | null; code: string | null; message: string; mayExist: boolean };

const CLOSE_TIMEOUT_MS = 3_000;

function token(target: RelayTarget, secrets: Secrets, claims: Omit<RelayTokenClaims, 'typ' | 'aud' | 'exp' | 'jti'>): Promise<string> {
  return signRelayToken(target.id, claims, secrets);
}

function endpoint(target: RelayTarget, path: string): string {
  return `${target.url.replace(/\/+$/, '')}${path}`;
}

async function call(target: RelayTarget, path: string, init: RequestInit & { token: string; timeoutMs: number }): Promise<Response | { failed: string }> {
  try {
    return await fetch(endpoint(target, path), {
      method: init.method,
      body: init.body,
      headers: { authorization: `Bearer ${init.token}`, ...(init.body ? { 'content-type': 'application/json' } : {}) },
      signal: AbortSignal.timeout(init.timeoutMs),
    });
  } catch (e) {
    const timedOut = (e as Error)?.name === 'TimeoutError' || (e as Error)?.name === 'AbortError';
    return { failed: timedOut ? `no answer within ${init.timeoutMs} ms` : `unreachable (${(e as Error)?.message ?? String(e)})` };
  }
}

async function refusal(resp: Response): Promise<{ code: string | null; message: string }> {
  const body = (await resp.json().catch(() => null)) as { error?: { code?: unknown; message?: unknown } } | null;
  const code = typeof body?.error?.code === 'string' ? body.error.code : null;
  const message = typeof body?.error?.message === 'string' ? body.error.message : `HTTP ${resp.status}`;
  return { code, message };
}

/** Asks a relay for a peer answering `offer` (`POST /internal/peers`). */
export async function createPeer(
  target: RelayTarget,
  secrets: Secrets,
  grant: PeerGrant,
  offer: RelayCreatePeerRequest,
  timeoutMs: number,
): Promise<RelayOutcome<RelayCreatePeerResponse>> {
  const t = await token(target, secrets, {
    op: 'create',
    peer_id: grant.peerId,
    key_id: grant.keyId,
    ...(grant.userLogin !== null ? { user_login: grant.userLogin } : {}),
    ...(grant.maxMeasuringMs !== null ? { max_measuring_ms: grant.maxMeasuringMs } : {}),
  });
  const resp = await call(target, '/internal/peers', { method: 'POST', body: JSON.stringify(offer), token: t, timeoutMs });
  if ('failed' in resp) return { ok: false, status: null, code: null, message: resp.failed, mayExist: true };
  if (!resp.ok) {
    // 4xx and a relay that says it is full (503) created nothing; any other failure may have left a peer.
    const mayExist = resp.status >= 500 && resp.status !== 503;
    return { ok: false, status: resp.status, ...(await refusal(resp)), mayExist };
  }
  const parsed = RelayCreatePeerResponseSchema.safeParse(await resp.json().catch(() => null));
  if (!parsed.success || parsed.data.peer_id !== grant.peerId) {
    return { ok: false, status: resp.status, code: null, message: 'the relay answered with something that is not a peer answer', mayExist: true };
  }
  return { ok: true, value: parsed.data };
}

/** Hands a trickled client candidate to the relay holding the peer. */
export async function addCandidate(target: RelayTarget, secrets: Secrets, peerId: string, body: RelayIceRequest, timeoutMs: number): Promise<RelayOutcome<null>> {
  const t = await token(target, secrets, { op: 'ice', peer_id: peerId });
  const resp = await call(target, `/internal/peers/${encodeURIComponent(peerId)}/ice`, { method: 'POST', body: JSON.stringify(body), token: t, timeoutMs });
  if ('failed' in resp) return { ok: false, status: null, code: null, message: resp.failed, mayExist: false };
  if (!resp.ok) return { ok: false, status: resp.status, ...(await refusal(resp)), mayExist: false };
  return { ok: true, value: null };
}

/** Closes a peer (idempotent on the relay); true when the relay confirmed. Never throws: it runs on failure paths. */
export async function closePeer(target: RelayTarget, secrets: Secrets, peerId: string): Promise<boolean> {
  try {
    const t = await token(target, secrets, { op: 'close', peer_id: peerId });
    const resp = await call(target, `/internal/peers/${encodeURIComponent(peerId)}`, { method: 'DELETE', token: t, timeoutMs: CLOSE_TIMEOUT_MS });
    if ('failed' in resp) return false;
    await resp.body?.cancel();
    return resp.ok;
  } catch {
    return false;
  }
}
