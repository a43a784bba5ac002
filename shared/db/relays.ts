import * as z from 'zod';
import { ipFamily } from '../ip-family.js';
import { IpVersionSchema } from '../protocol/signaling.js';
import type { Db, InStatement } from './client.js';

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
}

/** Inserts or refreshes a relay's row (its heartbeat). */
export async function upsertRelay(db: Db, r: RelayRecord): Promise<void> {
  await db.execute({
    sql: `INSERT INTO relays (id, region, public_address, public_addresses, internal_url, capacity, active_sessions, last_heartbeat, started_at)
          VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
          ON CONFLICT(id) DO UPDATE SET region = excluded.region, public_address = excluded.public_address,
            public_addresses = excluded.public_addresses, internal_url = excluded.internal_url, capacity = excluded.capacity,
            active_sessions = excluded.active_sessions, last_heartbeat = excluded.last_heartbeat,
            started_at = excluded.started_at`,
    args: [r.id, r.region, r.public_address, JSON.stringify(r.public_addresses ?? addressesOf(r.public_address)), r.internal_url, r.capacity, r.active_sessions, r.last_heartbeat, r.started_at],
  });
}

/** Relays whose heartbeat is newer than `freshSince` and that have room, least loaded first. */
export async function availableRelays(db: Db, freshSince: number): Promise<RelayRecord[]> {
  const rs = await db.execute({
    sql: `SELECT * FROM relays WHERE last_heartbeat >= ? AND active_sessions < capacity
          ORDER BY CAST(active_sessions AS REAL) / capacity, active_sessions`,
    args: [freshSince],
  });
  return rs.rows.map((row) => {
    const r = row as unknown as Record<string, unknown>;
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
    };
  });
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

/**
 * Reserves a key's connection before the edge asks the relay for it: the peer's row goes in only while the key
 * holds fewer than `max` open peers on relays whose heartbeat is newer than `freshSince` (null: no limit).
 * Count and insert are one statement in one write transaction, so parallel reservations cannot overshoot.
 * True if the row went in.
 */
export async function reserveRelayPeer(db: Db, p: RelayPeer, max: number | null, freshSince: number, now = Date.now()): Promise<boolean> {
  const [rs] = await db.batch(
    [
      {
        sql: `INSERT INTO relay_peers (peer_id, relay_id, magic_key, conn_id, created_at)
              SELECT ?1, ?2, ?3, ?4, ?5
              WHERE ?6 IS NULL OR (SELECT COUNT(*) FROM relay_peers p JOIN relays r ON r.id = p.relay_id
                                   WHERE p.magic_key = ?3 AND p.closed_at IS NULL AND r.last_heartbeat >= ?7) < ?6`,
        args: [p.peer_id, p.relay_id, p.magic_key, p.conn_id, Math.round(now), max, Math.round(freshSince)],
      },
    ],
    'write',
  );
  return (rs?.rowsAffected ?? 0) > 0;
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
