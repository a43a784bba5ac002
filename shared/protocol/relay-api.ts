import * as z from 'zod';
import { IpVersionSchema, MAX_SDP_CHARS, PathIndexSchema } from './signaling.js';

/** Body of the relay's `POST /internal/peers` (edge → relay). */
export const RelayCreatePeerRequestSchema = z.object({
  sdp: z.string().min(1).max(MAX_SDP_CHARS),
  type: z.literal('offer'),
  conn_id: z.string().min(1).max(64).optional(),
  ip_version: IpVersionSchema.optional(),
  /** The family the client holds this connection to: the relay then offers and accepts candidates of it only. */
  family: IpVersionSchema.optional(),
  path_index: PathIndexSchema.optional(),
});
export type RelayCreatePeerRequest = z.infer<typeof RelayCreatePeerRequestSchema>;

/** Answer of `POST /internal/peers`. */
export const RelayCreatePeerResponseSchema = z.object({
  peer_id: z.string(),
  conn_id: z.string(),
  sdp: z.string(),
  type: z.literal('answer'),
});
export type RelayCreatePeerResponse = z.infer<typeof RelayCreatePeerResponseSchema>;

/** Body of `POST /internal/peers/:peer_id/ice`. */
export const RelayIceRequestSchema = z.object({
  candidate: z.string().max(2048),
  sdp_mid: z.string().max(64).optional(),
});
export type RelayIceRequest = z.infer<typeof RelayIceRequestSchema>;

/** Answer of `GET /internal/load`. */
export const RelayLoadSchema = z.object({
  relay_id: z.string(),
  region: z.string(),
  active_sessions: z.number().int().min(0),
  capacity: z.number().int().min(0),
  /** Optional: p99 of how late the relay's probe timers fired (ms), worst session. */
  timer_slip_p99_ms: z.number().optional(),
});
export type RelayLoad = z.infer<typeof RelayLoadSchema>;

/**
 * Claims of the short-lived token on every edge → relay call. It binds the
 * edge-validated key (named by its `key_id`, never carried in clear) and user
 * to one peer on one relay; `jti` makes the token good for one call only.
 */
export const RelayTokenClaimsSchema = z.object({
  typ: z.literal('relay'),
  aud: z.string(),
  op: z.enum(['create', 'ice', 'close', 'load', 'drain']),
  jti: z.string().min(16).max(64),
  peer_id: z.string().optional(),
  key_id: z.string().max(64).optional(),
  user_login: z.string().optional(),
  max_measuring_ms: z.number().min(0).optional(),
  exp: z.number(),
});
export type RelayTokenClaims = z.infer<typeof RelayTokenClaimsSchema>;

/** Claims of the signed `session_id` handle the edge gives clients: enough to route ICE without a database read. */
export const SessionHandleClaimsSchema = z.object({
  typ: z.literal('handle'),
  relay_id: z.string(),
  relay_url: z.string(),
  peer_id: z.string(),
  exp: z.number(),
});
export type SessionHandleClaims = z.infer<typeof SessionHandleClaimsSchema>;

/** Claims of the token a relay's capture hand-off to the edge carries (`PUT /internal/captures/...`): one file, named and hashed. */
export const CaptureTokenClaimsSchema = z.object({
  typ: z.literal('capture'),
  relay_id: z.string().min(1).max(128),
  session_id: z.string().min(1).max(128),
  conn_id: z.string().min(1).max(128),
  peer_id: z.string().min(1).max(128),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  bytes: z.number().int().min(0),
  exp: z.number(),
});
export type CaptureTokenClaims = z.infer<typeof CaptureTokenClaimsSchema>;
