// Which relay a client gets, ranked in SQL, so that the edge can read the candidates and reserve the best one's
// slot in the same write batch as its key check (one round trip to the database per signaling).
import type { IpFamily } from '../ip-family.js';
import type { InStatement, ResultSet } from './client.js';
import type { BreakerPolicy } from './relay-health.js';
import { CLAIM_PROBE, keyOpenPeers, LIVE_RELAYS, relayCandidateFrom, relayListArgs, type RelayCandidate } from './relays.js';

/** What ranks relays for one client. */
export interface RelayRanking {
  /** Relays whose heartbeat is older are not offered. */
  freshSince: number;
  breaker: BreakerPolicy;
  now: number;
  /** Relay regions to prefer, best first (see preferredRegions). */
  preferred: readonly string[];
  /** The client's address family, when known: relays without a public address of it go after those with one. */
  family?: IpFamily;
  /** Outside local mode: relays whose internal URL is not https:// are never chosen (see httpsRelaysOnly). */
  httpsOnly: boolean;
  /** A relay left out (the one a retry gave up). */
  skip?: string | null;
}

/**
 * The family of a relay whose public_addresses is missing or not a valid list: that of the address in its
 * public_address (`[v6]:port`, `v4:port`, or a bare address), as addressesOf and ipFamily read it: IPv6 when that
 * address holds a colon. `hp` is public_address with its trailing digits cut (the port, when a colon precedes them).
 */
const FALLBACK_IS_V6 = `(SELECT CASE
      WHEN length(hp) < length(pa) AND substr(hp, -1) = ':' THEN
        instr(CASE WHEN substr(hp, 1, 1) = '[' AND substr(hp, -2, 1) = ']' THEN substr(hp, 2, length(hp) - 3) ELSE substr(hp, 1, length(hp) - 1) END, ':') > 0
      ELSE instr(pa, ':') > 0 END
    FROM (SELECT public_address AS pa, rtrim(public_address, '0123456789') AS hp))`;

/** Whether public_addresses is what PublicAddressSchema takes: a non-empty JSON list of {address: non-empty text, family: ipv4|ipv6}. */
const LIST_VALID = `(json_valid(public_addresses) AND json_type(public_addresses) = 'array' AND json_array_length(public_addresses) > 0
    AND NOT EXISTS (SELECT 1 FROM json_each(public_addresses) a
                     WHERE a.type <> 'object' OR json_type(a.value, '$.address') IS NOT 'text' OR json_extract(a.value, '$.address') = ''
                        OR json_type(a.value, '$.family') IS NOT 'text' OR json_extract(a.value, '$.family') NOT IN ('ipv4', 'ipv6')))`;

/** Whether a relay has a public address of family `:family` (as readAddresses reads its columns). */
const HAS_FAMILY = `CASE WHEN ${LIST_VALID}
      THEN EXISTS (SELECT 1 FROM json_each(public_addresses) a WHERE json_extract(a.value, '$.family') = :family)
      ELSE (CASE WHEN ${FALLBACK_IS_V6} THEN 'ipv6' ELSE 'ipv4' END) = :family END`;

/**
 * Relays with room that the client may get, each with `https_ok` (false: refused outside local mode) and its rank:
 * a suspect relay (its last call or connection failed, short of the breaker's count, or it holds answered peers
 * that have not opened for seconds) after every other whatever its region; then those with an address of the
 * client's family; then preferred regions in order; then least loaded (open rows per slot, open rows, the
 * heartbeat's figure; the id breaks ties, so the batch's reservation and its candidate list agree).
 */
const RANKED = `live AS (${LIVE_RELAYS}),
  ranked AS (
    SELECT live.*,
      (NOT :https_only OR lower(substr(internal_url, 1, 8)) = 'https://') AS https_ok,
      ((streak > 0 AND streak < :n) OR unopened > 0) AS suspect,
      (:family IS NOT NULL AND NOT (${HAS_FAMILY})) AS lacks_family,
      COALESCE((SELECT MIN(CAST(p.key AS INTEGER)) FROM json_each(:preferred) p WHERE p.value = live.region), json_array_length(:preferred)) AS region_rank
    FROM live WHERE open_peers < capacity AND id IS NOT :skip)`;

const RANK_ORDER = 'suspect, lacks_family, region_rank, CAST(open_peers AS REAL) / capacity, open_peers, active_sessions, id';

function rankingArgs(r: RelayRanking): Record<string, string | number | null> {
  return {
    ...relayListArgs(r.freshSince, r.breaker, r.now),
    https_only: r.httpsOnly ? 1 : 0,
    family: r.family ?? null,
    preferred: JSON.stringify(r.preferred),
    skip: r.skip ?? null,
  };
}

/** The candidates for a client, best first, with `https_ok` (read rows with relayCandidateFrom). */
export function rankedRelaysStatement(r: RelayRanking): InStatement {
  return { sql: `WITH ${RANKED} SELECT * FROM ranked ORDER BY ${RANK_ORDER}`, args: rankingArgs(r) };
}

/** What a reservation batch found: the candidates (best first, https_ok or not), the key's open peers, and the relay reserved (null: none). */
export interface BestRelayReservation {
  candidates: RelayCandidate[];
  /** Open peers of the key before the reservation (0 for an unknown key). */
  keyOpenPeers: number;
  reservedRelayId: string | null;
}

/**
 * The statements that read the candidates for a client and reserve, for peer `peerId`, a slot on the best one whose
 * URL may be used, in the name of the key with hash `keyHash`: only while that key is valid now (known, not revoked,
 * not expired, as keyState judges it) and holds fewer open peers than its max_concurrent_sessions, counted as
 * reserveRelayPeer counts them, in the same statement. A relay let through for a recovery probe is claimed as
 * reserveRelayPeer claims it. Run them in one write batch, in order; read their results with bestRelayReservationFrom.
 */
export function reserveBestRelayStatements(r: RelayRanking, peer: { peerId: string; connId: string; keyHash: string }, probeHoldMs: number): InStatement[] {
  const args = { ...rankingArgs(r), peer: peer.peerId, conn: peer.connId, key_hash: peer.keyHash, hold: probeHoldMs };
  return [
    rankedRelaysStatement(r),
    { sql: `SELECT ${keyOpenPeers('k.key')} AS n FROM magic_keys k WHERE k.key_hash = :key_hash`, args },
    {
      sql: `WITH ${RANKED}
            INSERT INTO relay_peers (peer_id, relay_id, magic_key, conn_id, created_at)
            SELECT :peer, ranked.id, k.key, :conn, :now FROM ranked JOIN magic_keys k ON k.key_hash = :key_hash
             WHERE ranked.https_ok AND (k.revoked_at IS NULL OR k.revoked_at > :now) AND (k.expires_at IS NULL OR k.expires_at > :now)
               AND (k.max_concurrent_sessions IS NULL OR ${keyOpenPeers('k.key')} < k.max_concurrent_sessions)
             ORDER BY ${RANK_ORDER} LIMIT 1
            RETURNING relay_id`,
      args,
    },
    { sql: CLAIM_PROBE, args },
  ];
}

/** What the results of reserveBestRelayStatements say. */
export function bestRelayReservationFrom([ranked, keyOpen, inserted]: readonly ResultSet[]): BestRelayReservation {
  const relayId = inserted?.rows[0]?.relay_id;
  return {
    candidates: (ranked?.rows ?? []).map((row) => relayCandidateFrom(row as unknown as Record<string, unknown>)),
    keyOpenPeers: Number(keyOpen?.rows[0]?.n ?? 0),
    reservedRelayId: relayId == null ? null : String(relayId),
  };
}
