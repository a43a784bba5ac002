// Signaling's one round trip to the database before the relay is asked: the viewer behind the cookie, the key and
// its address's failures, the relays ranked for the client, and a slot on the best one reserved for the key (only
// while the key is valid and under its limit), in one write batch.
import type { Db, InStatement, ResultSet } from '../shared/db/client.js';
import type { MagicKey } from '../shared/db/keys.js';
import { relayFailed } from '../shared/db/relay-health.js';
import { bestRelayReservationFrom, reserveBestRelayStatements } from '../shared/db/relay-ranking.js';
import type { RelayCandidate } from '../shared/db/relays.js';
import { uuid } from '../shared/ids.js';
import type { IpFamily } from '../shared/ip-family.js';
import type { EdgeConfig } from './config.js';
import { HttpError } from './errors.js';
import { keyCheck, keyLimitReached, releaseSession } from './keys.js';
import { relayRanking, type ClientPlace } from './relay-choice.js';
import { httpsRelaysOnly } from './relay-https.js';

/** What signaling knows after its batch. */
export interface Admission {
  key: MagicKey;
  /** The logged-in person's login (carried to the relay), null for a technician with only a key. */
  userLogin: string | null;
  /** Candidates, best first (https ones only outside local mode; a retry's failed relay left out); never empty. */
  relays: RelayCandidate[];
  /** The slot the batch reserved on relays[0], or null: then each relay's slot is reserved before it is asked. */
  reserved: { peerId: string; relayId: string } | null;
}

export interface AdmissionRequest {
  config: EdgeConfig;
  db: Db;
  address: string;
  keyText: string;
  /** The viewer's lookup for the batch (viewerInWriteBatch). */
  viewer: { statements: InStatement[]; from(results: readonly ResultSet[]): { login: string } | null };
  place: ClientPlace | undefined;
  family?: IpFamily;
  connId: string;
  /** Connections the survey opens at once, named on its first (planned_connections): all must fit the key's limit. */
  plannedConnections?: number;
  /** A retry's failed answer: its relay is left out, and its connection counted as never opened (while its row says so). */
  failed: { relay_id: string; peer_id: string } | null;
  now: number;
}

/**
 * Runs the batch and judges it as the checks always have: a refused key (counted, in a second round trip), no relay
 * (503 no_relay), then the key's concurrent sessions all in use (403 key_limit_reached).
 */
export async function admitSignaling(req: AdmissionRequest): Promise<Admission> {
  const { config, db, now } = req;
  const limit = { limit: config.keyFailureLimit, windowMs: config.keyFailureWindowMs };
  const key = await keyCheck(req.address, req.keyText, limit, now);
  const peerId = uuid();
  const ranking = relayRanking(
    { freshMs: config.relayFreshMs, breaker: config.breaker, regionMap: config.regionMap, place: req.place, mode: config.mode, family: req.family, skip: req.failed?.relay_id },
    now,
  );
  const parts = [
    req.failed ? [relayFailed(req.failed.relay_id, 'never_opened', 'the client gave up: its connection never came up', now, req.failed.peer_id)] : [],
    req.viewer.statements,
    key.statements,
    reserveBestRelayStatements(ranking, { peerId, connId: req.connId, keyHash: key.keyHash }, config.breaker.probeHoldMs),
  ];
  const results = await db.batch(parts.flat(), 'write');
  const [, viewerResults = [], keyResults = [], reservationResults = []] = sliceResults(results, parts);

  const userLogin = req.viewer.from(viewerResults)?.login ?? null;
  const admitted = await key.judge(db, keyResults);
  const found = bestRelayReservationFrom(reservationResults);
  const relays = httpsRelaysOnly(found.candidates, config.mode);
  let reserved = found.reservedRelayId === null ? null : { peerId, relayId: found.reservedRelayId };
  // The batch checks https:// by the URL's text, the list by parsing it: should they disagree on the reserved
  // relay (a malformed URL), the slot goes back and the loop reserves relay by relay, as the list says.
  if (reserved && reserved.relayId !== relays[0]?.id) {
    await releaseSession(db, reserved.peerId);
    reserved = null;
  }
  if (relays.length === 0) throw new HttpError('no_relay', NO_RELAY_WORDS);
  const max = admitted.max_concurrent_sessions;
  if (!reserved && max !== null && found.keyOpenPeers >= max) throw keyLimitReached(max);
  const planned = req.plannedConnections ?? 1;
  if (max !== null && found.keyOpenPeers + planned > max) {
    if (reserved) await releaseSession(db, reserved.peerId);
    throw surveyTooWide(planned, max, found.keyOpenPeers);
  }
  return { key: admitted, userLogin, relays, reserved };
}

/** The refusal of a survey whose connections (families × paths) the key's limit cannot all hold at once. */
export function surveyTooWide(planned: number, max: number, inUse: number): HttpError {
  return new HttpError(
    'key_limit_reached',
    `this survey opens ${planned} connections at once (address families × paths, each counts as a session), and this magic key allows ${max} concurrent connection${max === 1 ? '' : 's'} (${inUse} in use); ask for fewer paths or one family, or use a key with a higher limit`,
  );
}

/** The results of a batch of `parts`, part by part. */
function sliceResults(results: readonly ResultSet[], parts: readonly (readonly InStatement[])[]): ResultSet[][] {
  let at = 0;
  return parts.map((p) => results.slice(at, (at += p.length)));
}

export const NO_RELAY_WORDS = 'no measurement server is available right now; try again shortly';
