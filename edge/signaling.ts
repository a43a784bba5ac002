import type { Db } from '../shared/db/client.js';
import { uuid } from '../shared/ids.js';
import type { IpFamily } from '../shared/ip-family.js';
import type { SignalingIceRequest, SignalingStartRequest, SignalingStartResponse } from '../shared/protocol/signaling.js';
import type { EdgeConfig } from './config.js';
import { HttpError } from './errors.js';
import { iceServersFor } from './ice-servers.js';
import { admitKey, releaseSession, requestMagicKey, reserveSession } from './keys.js';
import { candidateRelays, type ClientPlace } from './relay-choice.js';
import { addCandidate, closePeer, createPeer, type RelayTarget } from './relay-client.js';
import { issueHandle, readHandle } from './session-handle.js';

/** What one `/api/signaling/start` needs besides its body. */
export interface StartContext {
  config: EdgeConfig;
  db: Db;
  /** Rate-limit bucket of the caller (see clientAddress). */
  address: string;
  place: ClientPlace | undefined;
  /** The client's address family as the request shows it (see requestFamily); the offer's ip_version wins. */
  family?: IpFamily;
  authorization: string | undefined;
  userLogin: string | null;
}

/** A failing relay is given up after this many relays have been tried: the first choice, then the next one once. */
const RELAY_ATTEMPTS = 2;

const ICE_TIMEOUT_MS = 5_000;

/**
 * Validates the key, picks a relay and gets the relay's answer to the offer.
 * One of the key's concurrent sessions is reserved in the database before
 * each relay is asked, and given back if that relay does not take the peer.
 * Any peer a relay may have created is closed again if the client does not
 * get it (failed call, bad answer, or a failure after the answer).
 */
export async function startSignaling(ctx: StartContext, body: SignalingStartRequest): Promise<SignalingStartResponse> {
  const { config, db } = ctx;
  const keyText = requestMagicKey(body.magic_key, ctx.authorization);
  if (!keyText) throw new HttpError('auth_required', 'magic_key: a magic key is required (in the body or as `Authorization: MagicKey <key>`)');
  const now = Date.now();
  const limit = { limit: config.keyFailureLimit, windowMs: config.keyFailureWindowMs };
  // One round trip's wait for the three independent reads (key, failure count, relays). The key
  // decides first, so one guesser behind a shared address (office, carrier NAT) locks out no valid key.
  const [key, relays] = await Promise.all([
    admitKey(db, ctx.address, keyText, limit, now),
    candidateRelays(db, { freshMs: config.relayFreshMs, regionMap: config.regionMap, place: ctx.place, mode: config.mode, family: body.ip_version ?? ctx.family, now }),
  ]);
  if (relays.length === 0) throw new HttpError('no_relay', 'no measurement server is available right now; try again shortly');

  // The reservation row needs the conn_id, so the edge picks it when the client did not (the relay would have).
  const connId = body.conn_id ?? uuid();
  const offer = { sdp: body.sdp, type: body.type, conn_id: connId, ip_version: body.ip_version };
  const cleanups: Promise<unknown>[] = [];
  const failures: string[] = [];
  try {
    for (const relay of relays.slice(0, RELAY_ATTEMPTS)) {
      const target: RelayTarget = { id: relay.id, url: relay.internal_url };
      const peerId = uuid();
      await reserveSession(db, key, { peerId, relayId: relay.id, connId }, Date.now() - config.relayFreshMs);
      const grant = { peerId, magicKey: key.key, userLogin: ctx.userLogin, maxMeasuringMs: key.max_measuring_ms };
      const out = await createPeer(target, config.secrets, grant, offer, config.relayTimeoutMs);
      if (out.ok) {
        try {
          const sessionId = await issueHandle(config.secrets, { relay_id: relay.id, relay_url: target.url, peer_id: peerId });
          return { session_id: sessionId, relay_id: relay.id, sdp: out.value.sdp, type: 'answer', ice_servers: await iceServersFor(config), conn_id: out.value.conn_id };
        } catch (e) {
          cleanups.push(closePeer(target, config.secrets, peerId), releaseSession(db, peerId));
          throw e;
        }
      }
      // Given back before the next relay is asked, which needs the slot again (a throw above leaves it to the relay's sweep).
      await releaseSession(db, peerId);
      if (out.mayExist) cleanups.push(closePeer(target, config.secrets, peerId));
      // The relay judged the offer itself (an SDP it cannot answer): that is the client's input, not a relay failure.
      if (out.status === 400 && out.code === 'invalid_request') throw new HttpError('invalid_request', out.message);
      // A live conn_id is the client's conflict (PROTOCOL.md §2), not a relay failure: no other relay is tried.
      if (out.status === 409 && out.code === 'conflict') throw new HttpError('conflict', out.message);
      failures.push(`${relay.id}: ${out.status ?? 'no answer'} ${out.message}`);
    }
    console.warn(`edge: no relay answered the offer: ${failures.join('; ')}`);
    throw new HttpError('relay_failed', 'the measurement server did not answer; try again shortly');
  } finally {
    await Promise.allSettled(cleanups);
  }
}

/** Routes one trickled client candidate to the relay named in the signed handle, without a database read. */
export async function trickleCandidate(config: EdgeConfig, body: SignalingIceRequest): Promise<void> {
  const handle = await readHandle(config.secrets, body.session_id);
  const target: RelayTarget = { id: handle.relay_id, url: handle.relay_url };
  const out = await addCandidate(target, config.secrets, handle.peer_id, { candidate: body.candidate, sdp_mid: body.sdp_mid }, ICE_TIMEOUT_MS);
  if (out.ok) return;
  if (out.status === 404) throw new HttpError('not_found', 'session_id: this connection is gone (closed or timed out)');
  if (out.status === 400 && out.code === 'invalid_request') throw new HttpError('invalid_request', out.message);
  console.warn(`edge: relay ${handle.relay_id} refused a candidate: ${out.status ?? 'no answer'} ${out.message}`);
  throw new HttpError('relay_failed', 'the measurement server did not take the candidate');
}
