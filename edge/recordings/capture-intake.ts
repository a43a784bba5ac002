// `PUT /internal/captures/{survey}/{conn}/{peer}`: a relay hands a connection's pcapng to the object store,
// signed with the secret edge and relays share; the file is checked against the SHA-256 the token names.
import type { Context } from 'hono';
import { captureIsStored, markCaptureStored } from '../../shared/db/capture-store.js';
import { randomToken } from '../../shared/ids.js';
import { CaptureTokenClaimsSchema } from '../../shared/protocol/relay-api.js';
import { verifyToken } from '../../shared/signing.js';
import { discardBody } from '../body.js';
import { withDb } from '../db.js';
import type { EdgeEnv } from '../env.js';
import { HttpError } from '../errors.js';
import { sha256OfStream } from './file-digest.js';
import { objectStore } from './object-store.js';

/** Largest capture taken (the edge checks it as it streams; workerd keeps none of it in memory). */
export const MAX_CAPTURE_BYTES = 512 * 1024 * 1024;

/** Stores a relay's capture and records where; answers `{storage_key}`. A refused hand-off's body is read and dropped, so the relay sees the refusal, not a reset. */
export async function captureIntake(c: Context<EdgeEnv>): Promise<Response> {
  try {
    return await intake(c);
  } catch (e) {
    await discardBody(c.req.raw);
    throw e;
  }
}

async function intake(c: Context<EdgeEnv>): Promise<Response> {
  const config = c.get('config');
  const bearer = /^Bearer\s+(\S+)$/i.exec(c.req.header('authorization') ?? '')?.[1];
  const verdict = bearer ? await verifyToken(bearer, config.secrets, 'capture', CaptureTokenClaimsSchema) : null;
  if (!verdict?.ok) throw new HttpError('forbidden', 'a valid capture token from a relay is required');
  const t = verdict.claims;
  const { survey, conn, peer } = c.req.param() as { survey: string; conn: string; peer: string };
  if (t.session_id !== survey || t.conn_id !== conn || t.peer_id !== peer) throw new HttpError('forbidden', 'the token names another capture');
  const length = Number(c.req.header('content-length'));
  if (!Number.isInteger(length) || length !== t.bytes) throw new HttpError('invalid_request', 'Content-Length must be the byte count the token names');
  if (length > MAX_CAPTURE_BYTES) throw new HttpError('too_large', `a capture may be at most ${MAX_CAPTURE_BYTES} bytes`);
  if (!c.req.raw.body) throw new HttpError('invalid_request', 'body: the pcapng file is missing');
  // A survey purged (or never recorded) takes no capture: the hand-off would bring back what the purge removed.
  const known = await withDb(config, async (db) => (await db.execute({ sql: 'SELECT 1 FROM survey_sessions WHERE session_id = ?', args: [survey] })).rows.length > 0);
  if (!known) throw new HttpError('not_found', `no survey ${survey} (purged?); the capture is not kept`);
  // A capture token is good for one stored file: a replay is refused before its body costs anything.
  if (await withDb(config, (db) => captureIsStored(db, { session_id: survey, conn_id: conn, peer_id: peer }))) throw alreadyStored();
  const store = objectStore(c);
  const storageKey = `captures/${encodeURIComponent(survey)}/${encodeURIComponent(conn)}/${encodeURIComponent(peer)}-${randomToken(16)}.pcapng`;
  // A Content-Length body is a known-length stream, which R2 takes without buffering.
  await store.put(storageKey, c.req.raw.body, { httpMetadata: { contentType: 'application/x-pcapng' } });
  const stored = await store.get(storageKey);
  const digest = stored ? await sha256OfStream(stored.body) : null;
  if (digest !== t.sha256) {
    await store.delete(storageKey);
    throw new HttpError('checksum_mismatch', 'the capture does not have the SHA-256 its token names; nothing was kept');
  }
  const recorded = await withDb(config, (db) => markCaptureStored(db, { session_id: survey, conn_id: conn, peer_id: peer, storage_key: storageKey, sha256: t.sha256, bytes: t.bytes }));
  if (!recorded) {
    // Another upload of this capture (a replay racing the first) was recorded meanwhile: that one stays, this one goes.
    await store.delete(storageKey);
    throw alreadyStored();
  }
  console.log(`edge: capture of survey ${survey} conn ${conn} from relay ${t.relay_id} stored (${t.bytes} bytes)`);
  return c.json({ storage_key: storageKey });
}

/** 409: the store already holds this capture; the relay takes it as delivered. */
const alreadyStored = () => new HttpError('conflict', 'this capture is already stored; a capture token is good for one upload');
