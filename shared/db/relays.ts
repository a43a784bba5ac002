import * as z from 'zod';
import { ipFamily } from '../ip-family.js';
import { IpVersionSchema } from '../protocol/signaling.js';
import type { Db, InStatement } from './client.js';
import { BACKED_OFF, type BreakerPolicy } from './relay-health.js';

/** Whether a relay takes new peers (PROTOCOL v3): a draining one keeps its surveys and takes none. */
export type RelayState = 'ready' | 'draining';

/** One address a relay's UDP port is reached at, with its family (PROTOCOL.md v3: relays register both families). */
export const PublicAddressSchema = z.object({ address: z.string().min(1), family: IpVersionSchema });
export type PublicAddress = z.infer<typeof PublicAddressSchema>;

/** A relay as it registers itself. */
export interface RelayRecord {
  id: string;
  region: string;
  /** The first public address as `address:port` (`[v6]:port`), as before the list came. */
  public_address: string;
  /** (19) Every public address; when absent (written so, or by an older relay) the one in public_address. */
  public_addresses?: PublicAddress[];
  internal_url: string;
  capacity: number;
  active_sessions: number;
  last_heartbeat: number;
  started_at: number;
  /** 'ready' when absent. */
  state?: RelayState;
}

/** A relay the edge may offer, with what the edge counted and learnt of it. */
export interface RelayCandidate extends RelayRecord {
  /** Open relay_peers rows: its live peers plus edges' reservations, counted now (not the heartbeat's figure). */
  open_peers: number;
  /** Failures in a row (create-peer calls, connections that never opened); 0 for a healthy relay. */
  consecutive_failures: number;
  /** Open peers it answered over UNOPENED_AFTER_MS ago whose channels have not opened: clients that may not reach its UDP port. */
  unopened_peers: number;
}

/** A connection opens within a second or two of its answer; one still unopened after this likely never will (the client gives up at 10 s). */
export const UNOPENED_AFTER_MS = 4_000;

/** Inserts or refreshes a relay's row (its heartbeat). */
export async function upsertRelay(db: Db, r: RelayRecord): Promise<void> {
  await db.execute({
    sql: `INSERT INTO relays (id, region, public_address, public_addresses, internal_url, capacity, active_sessions, last_heartbeat, started_at, state)
          VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
          ON CONFLICT(id) DO UPDATE SET region = excluded.region, public_address = excluded.public_address,
            public_addresses = excluded.public_addresses, internal_url = excluded.internal_url, capacity = excluded.capacity,
            active_sessions = excluded.active_sessions, last_heartbeat = excluded.last_heartbeat,
            started_at = excluded.started_at, state = excluded.state`,
    args: [
      r.id,
      r.region,
      r.public_address,
      JSON.stringify(r.public_addresses ?? addressesOf(r.public_address)),
      r.internal_url,
      r.capacity,
      r.active_sessions,
      r.last_heartbeat,
      r.started_at,
      r.state ?? 'ready',
    ],
  });
}

/** Open relay_peers rows of relay `r` (live peers and reservations); idx_relay_peers_relay_open makes it a short walk. */
export const OPEN_PEERS = '(SELECT COUNT(*) FROM relay_peers q WHERE q.relay_id = r.id AND q.closed_at IS NULL)';

/**
 * Relays `r` that are fresh (heartbeat since `:fresh`), `ready` and not backed off by the breaker (see relay-health.ts),
 * with their open rows counted now (`open_peers`), their failure streak (`streak`) and their peers answered before
 * `:unopened` that have not opened (`unopened`). Named arguments: relayListArgs.
 */
export const LIVE_RELAYS = `SELECT r.*, ${OPEN_PEERS} AS open_peers, COALESCE(h.consecutive_failures, 0) AS streak,
         (SELECT COUNT(*) FROM relay_peers q WHERE q.relay_id = r.id AND q.closed_at IS NULL AND q.opened_at IS NULL AND q.created_at < :unopened) AS unopened
    FROM relays r LEFT JOIN relay_health h ON h.relay_id = r.id
   WHERE r.last_heartbeat >= :fresh AND r.state = 'ready' AND NOT (${BACKED_OFF})`;

/** The named arguments LIVE_RELAYS reads. */
export function relayListArgs(freshSince: number, breaker: BreakerPolicy, now: number): Record<string, number> {
  return { fresh: Math.round(freshSince), now: Math.round(now), unopened: Math.round(now - UNOPENED_AFTER_MS), n: breaker.failures, base: breaker.backoffMs, maxbackoff: breaker.maxBackoffMs };
}

/** Open peers of the key whose text `key` (an SQL expression) gives, on relays whose heartbeat is since `:fresh` (a dead relay's peers do not count). */
export const keyOpenPeers = (key: string) => `(SELECT COUNT(*) FROM relay_peers p JOIN relays r ON r.id = p.relay_id
                    WHERE p.magic_key = ${key} AND p.closed_at IS NULL AND r.last_heartbeat >= :fresh)`;

/**
 * Claims a relay let through for a recovery probe (one with a full failure streak) for the reservation of peer
 * `:peer`, so one edge probes it and the others keep skipping it for `:hold` ms; nothing when the peer has no row.
 */
export const CLAIM_PROBE = `UPDATE relay_health SET probe_until = :now + :hold
       WHERE relay_id = (SELECT relay_id FROM relay_peers WHERE peer_id = :peer) AND consecutive_failures >= :n`;

/**
 * Relays the edge may offer now: fresh heartbeat, `ready`, room by the open rows counted now, and not backed off
 * by the breaker (see relay-health.ts); least loaded first (the heartbeat's figure breaks ties).
 */
export async function availableRelays(db: Db, freshSince: number, breaker: BreakerPolicy, now = Date.now()): Promise<RelayCandidate[]> {
  const rs = await db.execute({
    sql: `SELECT * FROM (${LIVE_RELAYS}) WHERE open_peers < capacity ORDER BY CAST(open_peers AS REAL) / capacity, open_peers, active_sessions`,
    args: relayListArgs(freshSince, breaker, now),
  });
  return rs.rows.map((row) => relayCandidateFrom(row as unknown as Record<string, unknown>));
}

/** A LIVE_RELAYS row as a RelayCandidate. */
export function relayCandidateFrom(r: Record<string, unknown>): RelayCandidate {
  return {
    id: String(r.id),
    region: String(r.region),
    public_address: String(r.public_address),
    public_addresses: readAddresses(r.public_addresses, String(r.public_address)),
    internal_url: String(r.internal_url),
    capacity: Number(r.capacity),
    active_sessions: Number(r.active_sessions),
    last_heartbeat: Number(r.last_heartbeat),
    started_at: Number(r.started_at),
    state: 'ready',
    open_peers: Number(r.open_peers),
    consecutive_failures: Number(r.streak),
    unopened_peers: Number(r.unopened),
  };
}

/** The public_addresses column as written, or (NULL, from a relay started before it; or not a valid list) what public_address says. */
function readAddresses(column: unknown, publicAddress: string): PublicAddress[] {
  let value: unknown = null;
  try {
    value = typeof column === 'string' ? JSON.parse(column) : null;
  } catch {
    // Not JSON: the fallback below.
  }
  const parsed = z.array(PublicAddressSchema).min(1).safeParse(value);
  return parsed.success ? parsed.data : addressesOf(publicAddress);
}

/** The address in an `address:port` / `[v6]:port` text, with its family. */
function addressesOf(hostPort: string): PublicAddress[] {
  const address = (/^\[(.*)\]:\d+$/.exec(hostPort) ?? /^(.*):\d+$/.exec(hostPort))?.[1] ?? hostPort;
  return [{ address, family: ipFamily(address) }];
}

/** A peer a relay holds, as relay_peers records it. */
export interface RelayPeer {
  peer_id: string;
  relay_id: string;
  magic_key: string;
  conn_id: string;
}

/** How a reservation went: in, refused by the key's limit, or the relay has no slot for it now (full, draining, stale or backed off). */
export type Reservation = 'reserved' | 'key_limit' | 'relay_unavailable';

/**
 * Reserves a peer's slot before the edge asks the relay for it. The row goes in only while the key holds fewer
 * than `maxPerKey` open peers on relays whose heartbeat is newer than `freshSince` (null: no limit), and the relay
 * is fresh, `ready`, not backed off by the breaker, and holds fewer open rows (live peers plus reservations) than
 * its capacity. Counts and insert are one statement in one write transaction, so parallel reservations cannot
 * overshoot either limit. A relay let through for a recovery probe is claimed in the same transaction, so one
 * edge probes it and the others keep skipping it (see relay-health.ts).
 */
export async function reserveRelayPeer(
  db: Db,
  p: RelayPeer,
  opts: { maxPerKey: number | null; freshSince: number; breaker: BreakerPolicy; now?: number },
): Promise<Reservation> {
  const args = {
    peer: p.peer_id,
    relay: p.relay_id,
    key: p.magic_key,
    conn: p.conn_id,
    now: Math.round(opts.now ?? Date.now()),
    max: opts.maxPerKey,
    fresh: Math.round(opts.freshSince),
    n: opts.breaker.failures,
    base: opts.breaker.backoffMs,
    maxbackoff: opts.breaker.maxBackoffMs,
    hold: opts.breaker.probeHoldMs,
  };
  const [inserted, , why] = await db.batch(
    [
      {
        sql: `INSERT INTO relay_peers (peer_id, relay_id, magic_key, conn_id, created_at)
              SELECT :peer, :relay, :key, :conn, :now
              WHERE (:max IS NULL OR ${keyOpenPeers(':key')} < :max)
                AND EXISTS (SELECT 1 FROM relays r LEFT JOIN relay_health h ON h.relay_id = r.id
                             WHERE r.id = :relay AND r.last_heartbeat >= :fresh AND r.state = 'ready'
                               AND ${OPEN_PEERS} < r.capacity AND NOT (${BACKED_OFF}))`,
        args,
      },
      { sql: CLAIM_PROBE, args },
      { sql: `SELECT :max IS NOT NULL AND ${keyOpenPeers(':key')} >= :max AS key_full`, args },
    ],
    'write',
  );
  if ((inserted?.rowsAffected ?? 0) > 0) return 'reserved';
  return Number(why?.rows[0]?.key_full) === 1 ? 'key_limit' : 'relay_unavailable';
}

/**
 * Gives a reservation back (the relay did not take the peer): a refused request leaves no row. Should the relay
 * have made the peer after all, its own open and close writes of it still leave it closed (closeRelayPeer upserts).
 */
export async function releaseRelayPeer(db: Db, peerId: string): Promise<void> {
  await db.execute({ sql: 'DELETE FROM relay_peers WHERE peer_id = ?', args: [peerId] });
}

/**
 * Closes the open rows of a relay's peers that it does not hold and that are older than `before`: reservations
 * an edge made and never released (it died mid-call), which would otherwise count against their key for ever.
 * Returns how many it closed.
 */
export async function closeStrayPeers(db: Db, relayId: string, livePeerIds: readonly string[], before: number, now = Date.now()): Promise<number> {
  const rs = await db.execute({
    sql: `UPDATE relay_peers SET closed_at = ? WHERE relay_id = ? AND closed_at IS NULL AND created_at < ?
            AND peer_id NOT IN (SELECT value FROM json_each(?))`,
    args: [Math.round(now), relayId, Math.round(before), JSON.stringify(livePeerIds)],
  });
  return rs.rowsAffected;
}

/** Marks a peer's channels open (see RelayCandidate.unopened_peers). */
export function markRelayPeerOpened(peerId: string, now: number): InStatement {
  return { sql: 'UPDATE relay_peers SET opened_at = ? WHERE peer_id = ? AND opened_at IS NULL', args: [Math.round(now), peerId] };
}

/** Records a peer a relay now holds, for the key's concurrency limit; does nothing if it was reserved by the edge or its close was recorded first. */
export async function openRelayPeer(db: Db, p: RelayPeer): Promise<void> {
  await db.execute({
    sql: 'INSERT OR IGNORE INTO relay_peers (peer_id, relay_id, magic_key, conn_id, created_at) VALUES (?, ?, ?, ?, ?)',
    args: [p.peer_id, p.relay_id, p.magic_key, p.conn_id, Date.now()],
  });
}

/** Marks a peer closed, inserting it closed if its open write has not landed yet (the two may race). */
export async function closeRelayPeer(db: Db, p: RelayPeer): Promise<void> {
  const now = Date.now();
  await db.execute({
    sql: `INSERT INTO relay_peers (peer_id, relay_id, magic_key, conn_id, created_at, closed_at) VALUES (?, ?, ?, ?, ?, ?)
          ON CONFLICT(peer_id) DO UPDATE SET closed_at = COALESCE(relay_peers.closed_at, excluded.closed_at)`,
    args: [p.peer_id, p.relay_id, p.magic_key, p.conn_id, now, now],
  });
}

/** Closes every peer a relay left open (it restarted: they are gone). */
export async function closeAllRelayPeers(db: Db, relayId: string): Promise<void> {
  await db.execute(closeRelayPeersOf(relayId, Date.now()));
}

/** Marks every open peer of a relay closed at `at`. */
export function closeRelayPeersOf(relayId: string, at: number): InStatement {
  return { sql: 'UPDATE relay_peers SET closed_at = ? WHERE relay_id = ? AND closed_at IS NULL', args: [Math.round(at), relayId] };
}

/** Records which survey a peer carries; inserts the peer open if its open write has not landed yet (a close that landed first stays). */
export function setRelayPeerSurvey(p: RelayPeer, surveyId: string, now: number): InStatement {
  return {
    sql: `INSERT INTO relay_peers (peer_id, relay_id, magic_key, conn_id, created_at, survey_session_id) VALUES (?, ?, ?, ?, ?, ?)
          ON CONFLICT(peer_id) DO UPDATE SET survey_session_id = excluded.survey_session_id`,
    args: [p.peer_id, p.relay_id, p.magic_key, p.conn_id, Math.round(now), surveyId],
  };
}

/**
 * Ends as 'relay_restart' the surveys carried by peers a relay left open (it died). Their end_time is the
 * relay's last heartbeat (`now` if it has none), or their last metric row if later; an end already recorded
 * later stays, as every survey end does.
 */
export function endSurveysOfOpenPeers(relayId: string, now: number): InStatement {
  return {
    sql: `WITH seen(t) AS (SELECT COALESCE((SELECT NULLIF(last_heartbeat, 0) FROM relays WHERE id = ?1), ?2))
          UPDATE survey_sessions SET end_time = MAX(last_update_time, (SELECT t FROM seen)), end_reason = 'relay_restart'
          WHERE session_id IN (SELECT survey_session_id FROM relay_peers WHERE relay_id = ?1 AND closed_at IS NULL AND survey_session_id IS NOT NULL)
            AND (end_time IS NULL OR end_time <= MAX(last_update_time, (SELECT t FROM seen)))`,
    args: [relayId, Math.round(now)],
  };
}

/** At start-up: ends the surveys of the peers an earlier run of this relay left open and closes those peers, in one transaction; returns how many surveys it ended. */
export async function closeLeftoverPeers(db: Db, relayId: string): Promise<number> {
  const now = Date.now();
  const [ended] = await db.batch([endSurveysOfOpenPeers(relayId, now), closeRelayPeersOf(relayId, now)], 'write');
  return ended?.rowsAffected ?? 0;
}

/** Open peers of a key on relays that are still alive (a dead relay's peers do not count). */
export async function countOpenPeers(db: Db, magicKey: string, freshSince: number): Promise<number> {
  const rs = await db.execute({
    sql: `SELECT COUNT(*) AS n FROM relay_peers p JOIN relays r ON r.id = p.relay_id
          WHERE p.magic_key = ? AND p.closed_at IS NULL AND r.last_heartbeat >= ?`,
    args: [magicKey, freshSince],
  });
  return Number((rs.rows[0] as unknown as { n: unknown }).n);
}

/** A relay's last heartbeat as its row holds it (0: deregistered), or null when it has no row. */
export async function relayHeartbeat(db: Db, relayId: string): Promise<number | null> {
  const rs = await db.execute({ sql: 'SELECT last_heartbeat FROM relays WHERE id = ?', args: [relayId] });
  const row = rs.rows[0];
  return row ? Number(row.last_heartbeat) : null;
}
