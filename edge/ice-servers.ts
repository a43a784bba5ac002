import type { Context } from 'hono';
import * as z from 'zod';
import type { IceServer, IceServersResponse } from '../shared/protocol/signaling.js';
import { describeZodError } from '../shared/protocol/errors.js';
import { mintTurnCredentials } from '../shared/turn-credentials.js';
import { DEFAULT_TURN_TTL_S, type EdgeConfig } from './config.js';
import { withDb } from './db.js';
import { HttpError } from './errors.js';
import { admitKey, requestMagicKey } from './keys.js';
import { clientAddress } from './rate-limit.js';

/** The static ICE_SERVERS plus, when TURN is configured, one TURN entry with credentials minted for this request. */
export async function iceServersFor(config: EdgeConfig, nowMs = Date.now()): Promise<IceServer[]> {
  if (!config.turn) return config.iceServers;
  const { username, credential } = await mintTurnCredentials(config.turn.secret, { ttlS: config.turn.ttlS, nowMs });
  return [...config.iceServers, { urls: config.turn.urls, username, credential }];
}

const QuerySchema = z.object({ key: z.string().min(1).max(256).optional() });

/** `GET /api/ice-servers` (PROTOCOL.md §1): the key is checked like signaling checks it, then the servers go out. */
export async function iceServersRoute(c: Context<{ Variables: { config: EdgeConfig } }>): Promise<Response> {
  const config = c.get('config');
  const query = QuerySchema.safeParse({ key: c.req.query('key') });
  if (!query.success) throw new HttpError('invalid_request', describeZodError(query.error));
  const keyText = requestMagicKey(query.data.key, c.req.header('authorization'));
  if (!keyText) throw new HttpError('auth_required', 'key: a magic key is required (as `Authorization: MagicKey <key>` or `?key=`)');
  const now = Date.now();
  const limit = { limit: config.keyFailureLimit, windowMs: config.keyFailureWindowMs };
  await withDb(config, (db) => admitKey(db, clientAddress(c.req.raw, config), keyText, limit, now));
  const answer: IceServersResponse = { ice_servers: await iceServersFor(config, now), ttl_s: config.turn?.ttlS ?? DEFAULT_TURN_TTL_S };
  // Fresh credentials every time: no cache may hand one caller's TURN password to another.
  c.header('cache-control', 'no-store');
  return c.json(answer);
}
