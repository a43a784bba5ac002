import * as z from 'zod';

/** Largest SDP we accept; real offers with three data channels are a few KiB. */
export const MAX_SDP_CHARS = 32 * 1024;

export const IpVersionSchema = z.enum(['ipv4', 'ipv6']);

/** Connections a survey may run per address family (PROTOCOL.md §2 v3 `path_index` is 0-based within the family). */
export const MAX_PATHS_PER_FAMILY = 16;

/** A connection's place among its family's paths, fixed at set-up. */
export const PathIndexSchema = z.number().int().min(0).max(MAX_PATHS_PER_FAMILY - 1);

/** Body of `POST /api/signaling/start`. The magic key may instead come in `Authorization: MagicKey <key>`. */
export const SignalingStartRequestSchema = z.object({
  sdp: z.string().min(1).max(MAX_SDP_CHARS),
  type: z.literal('offer'),
  magic_key: z.string().min(1).max(256).optional(),
  conn_id: z.uuid().optional(),
  parent_id: z.string().min(1).max(128).optional(),
  ip_version: IpVersionSchema.optional(),
  /** Optional (v3): the address family this connection is held to; its ICE uses candidates of this family only. Also picks the relay as `ip_version` does when that is absent. */
  family: IpVersionSchema.optional(),
  /** Optional (v3): this connection's path within its family (0-based); stored with every metric row. */
  path_index: PathIndexSchema.optional(),
  /**
   * Optional (issue 22), on a survey's first connection: how many connections the survey opens at once (families ×
   * paths). The key's concurrent-session limit counts each; a survey it cannot hold whole is refused up front.
   */
  planned_connections: z.number().int().min(1).max(2 * MAX_PATHS_PER_FAMILY).optional(),
  /** Optional extension: the session_id of this client's previous answer, whose connection never came up (that relay is skipped). */
  retry_of: z.string().min(1).max(2048).optional(),
});
export type SignalingStartRequest = z.infer<typeof SignalingStartRequestSchema>;

export const IceServerSchema = z.object({
  urls: z.union([z.string(), z.array(z.string())]),
  username: z.string().optional(),
  credential: z.string().optional(),
});
export type IceServer = z.infer<typeof IceServerSchema>;

/** Answer of `GET /api/ice-servers`: what to gather with, and for how many seconds its TURN credentials hold. */
export const IceServersResponseSchema = z.object({
  ice_servers: z.array(IceServerSchema),
  ttl_s: z.number().int().nonnegative(),
});
export type IceServersResponse = z.infer<typeof IceServersResponseSchema>;

/** Answer of `POST /api/signaling/start`. */
export const SignalingStartResponseSchema = z.object({
  session_id: z.string(),
  relay_id: z.string(),
  sdp: z.string(),
  type: z.literal('answer'),
  ice_servers: z.array(IceServerSchema),
  /** Optional extension: the connection id the relay bound to this peer. */
  conn_id: z.string().optional(),
});
export type SignalingStartResponse = z.infer<typeof SignalingStartResponseSchema>;

/** Body of `POST /api/signaling/ice`. */
export const SignalingIceRequestSchema = z.object({
  session_id: z.string().min(1).max(4096),
  candidate: z.string().max(2048),
  sdp_mid: z.string().max(64).optional(),
});
export type SignalingIceRequest = z.infer<typeof SignalingIceRequestSchema>;
