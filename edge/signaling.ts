import type { Db } from '../shared/db/client.js';
import { recordRelayFailure } from '../shared/db/relay-health.js';
import { uuid } from '../shared/ids.js';
import type { IpFamily } from '../shared/ip-family.js';
import type { SignalingIceRequest, SignalingStartRequest, SignalingStartResponse } from '../shared/protocol/signaling.js';
import type { EdgeConfig } from './config.js';
import { HttpError } from './errors.js';
import { iceServersFor } from './ice-servers.js';
import { releaseSession, requestMagicKey, reserveSession } from './keys.js';
import type { ClientPlace } from './relay-choice.js';
import { admitSignaling, NO_RELAY_WORDS, type Admission, type AdmissionRequest } from './signaling-admission.js';
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
  /** The viewer's lookup, for the first batch (viewerInWriteBatch): their login goes to the relay. */
  viewer: AdmissionRequest['viewer'];
  /** Runs work after the answer went out (the Worker's waitUntil): closing peers on relays that failed must not hold the client back. */
  background?: (work: Promise<unknown>) => void;
}

/** Relays asked for one client before giving up: a black hole costs the first one's short timeout, then two more are tried. */
const RELAY_ATTEMPTS = 3;

const ICE_TIMEOUT_MS = 5_000;

/**
 * Validates the key, picks a relay and gets the relay's answer to the offer.
 * One of the key's concurrent sessions and one of the relay's slots are
 * reserved in the database before each relay is asked (the first in the batch
 * that checks the key: one round trip before the relay's), and given back if that
 * relay does not take the peer; a relay that fails is recorded, so that every
 * edge backs off from it. Any peer a relay may have created is closed again if
 * the client does not get it (failed call, bad answer, or a failure after the answer).
 */
export async function startSignaling(ctx: StartContext, body: SignalingStartRequest): Promise<SignalingStartResponse> {
  const { config, db } = ctx;
  const keyText = requestMagicKey(body.magic_key, ctx.authorization);
  if (!keyText) throw new HttpError('auth_required', 'magic_key: a magic key is required (in the body or as `Authorization: MagicKey <key>`)');
  const now = Date.now();
  // A retry names the answer whose connection never came up: only a handle this edge issued counts.
  const failed = body.retry_of === undefined ? null : await readHandle(config.secrets, body.retry_of, now);
  // The reservation row needs the conn_id, so the edge picks it when the client did not (the relay would have).
  const connId = body.conn_id ?? uuid();
  let admission: Admission;
  try {
    admission = await admitSignaling({ config, db, address: ctx.address, keyText, viewer: ctx.viewer, place: ctx.place, family: body.ip_version ?? body.family ?? ctx.family, connId, failed, now, ...(body.planned_connections !== undefined ? { plannedConnections: body.planned_connections } : {}) });
  } finally {
    // Closed after the failure is recorded (which needs its unopened row): the client has given that connection up.
    if (failed) void background(ctx, closePeer({ id: failed.relay_id, url: failed.relay_url }, config.secrets, failed.peer_id));
  }
  const { key, userLogin, relays, reserved } = admission;

  const offer = { sdp: body.sdp, type: body.type, conn_id: connId, ip_version: body.ip_version, family: body.family, path_index: body.path_index };
  const cleanups: Promise<unknown>[] = [];
  const failures: string[] = [];
  let asked = 0;
  let familyRefusals = 0;
  try {
    for (const relay of relays) {
      if (asked >= RELAY_ATTEMPTS) break;
      const target: RelayTarget = { id: relay.id, url: relay.internal_url };
      const held = reserved?.relayId === relay.id && asked === 0 ? reserved.peerId : null;
      const peerId = held ?? uuid();
      const at = Date.now();
      // The batch reserved the first relay's slot; a later relay's costs a round trip of its own, paid only after a
      // failure. No slot now (filled, draining, or another edge's recovery probe since the read): the next relay, at no cost.
      if (!held && !(await reserveSession(db, key, { peerId, relayId: relay.id, connId }, { freshSince: at - config.relayFreshMs, breaker: config.breaker, now: at }))) continue;
      asked++;
      const grant = { peerId, keyId: key.key_id, userLogin, maxMeasuringMs: key.max_measuring_ms };
      const short = asked === 1 || relay.consecutive_failures > 0;
      const out = await createPeer(target, config.secrets, grant, offer, short ? config.relayFirstTimeoutMs : config.relayTimeoutMs);
      if (out.ok) {
        try {
          const sessionId = await issueHandle(config.secrets, { relay_id: relay.id, relay_url: target.url, peer_id: peerId });
          return { session_id: sessionId, relay_id: relay.id, sdp: out.value.sdp, type: 'answer', ice_servers: await iceServersFor(config), conn_id: out.value.conn_id };
        } catch (e) {
          cleanups.push(closePeer(target, config.secrets, peerId));
          await releaseSession(db, peerId);
          throw e;
        }
      }
      // Given back before the next relay is asked, which needs the slot again (a throw above leaves it to the relay's sweep).
      await Promise.all([releaseSession(db, peerId), isRelayFault(out) ? noteRelayFailure(db, relay.id, out.message) : undefined]);
      if (out.mayExist) cleanups.push(closePeer(target, config.secrets, peerId));
      // The relay judged the offer itself (an SDP it cannot answer): that is the client's input, not a relay failure.
      if (out.status === 400 && out.code === 'invalid_request') throw new HttpError('invalid_request', out.message);
      // A live conn_id is the client's conflict (PROTOCOL.md §2), not a relay failure: no other relay is tried.
      if (out.status === 409 && out.code === 'conflict') throw new HttpError('conflict', out.message);
      failures.push(`${relay.id}: ${out.status ?? 'no answer'} ${out.message}`);
      if (out.status === 503 && out.message.startsWith('family:')) familyRefusals++;
    }
    if (asked === 0) throw new HttpError('no_relay', NO_RELAY_WORDS);
    // Every relay asked has no address of the family the connection is held to: say so, not that they failed.
    if (body.family && familyRefusals === asked) throw new HttpError('no_relay', `no measurement server reachable over ${body.family === 'ipv4' ? 'IPv4' : 'IPv6'} is available`);
    console.warn(`edge: no relay answered the offer: ${failures.join('; ')}`);
    throw new HttpError('relay_failed', 'the measurement server did not answer; try again shortly');
  } finally {
    // After the answer or refusal: a relay that fails by not answering would not answer the close either.
    await background(ctx, Promise.allSettled(cleanups));
  }
}

/** Hands `work` to the Worker's waitUntil, or waits for it where there is none. */
async function background(ctx: StartContext, work: Promise<unknown>): Promise<void> {
  if (ctx.background) ctx.background(work);
  else await work;
}

/**
 * Whether a refused create-peer call says the relay is broken, for the breaker: no answer, a server fault or a
 * bad answer, or a token it would not take (a secret that differs). A full or draining relay (503) and the
 * client's own input (400, 409) say nothing against it.
 */
function isRelayFault(out: { status: number | null; code: string | null }): boolean {
  if (out.status === null) return true;
  if (out.status === 503) return false;
  return out.status >= 500 || out.status === 401 || out.status === 403 || out.status < 300;
}

/** Records a relay's failure; a database failure here is logged and costs the client nothing. */
async function noteRelayFailure(db: Db, relayId: string, message: string): Promise<void> {
  try {
    await recordRelayFailure(db, relayId, 'call', message);
  } catch (e) {
    console.warn(`edge: recording a failure of relay ${relayId} failed: ${String((e as Error).message ?? e)}`);
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
