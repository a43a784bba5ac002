// What edges learn of relays, kept in the database because the edge is stateless: failed create-peer calls and
// connections that never opened, and the circuit breaker that skips a relay failing again and again.
import type { Db, InStatement } from './client.js';

/**
 * The breaker: after `failures` failures in a row a relay is skipped for `backoffMs`, doubling with each further
 * failure up to `maxBackoffMs`; once that has passed one edge is let through with a recovery probe (the others
 * skip the relay for `probeHoldMs` or until the probe's outcome is known). A connection that opens on the relay
 * clears the streak.
 */
export interface BreakerPolicy {
  failures: number;
  backoffMs: number;
  maxBackoffMs: number;
  probeHoldMs: number;
}

/** What failed: the edge's create-peer call (no answer in time, refused connection, a 5xx, a bad answer), or a connection the relay answered that never opened. */
export type RelayFailure = 'call' | 'never_opened';

/**
 * SQL condition, over `h` (relay_health, LEFT JOINed: NULLs when the relay has no record), true while the breaker
 * skips the relay. Named arguments: `:now`, `:n` (failures), `:base`, `:maxbackoff` (ms).
 */
export const BACKED_OFF = `COALESCE(h.consecutive_failures, 0) >= :n
  AND (h.last_failure_at + MIN(:maxbackoff, :base * (1 << MIN(h.consecutive_failures - :n, 20))) > :now OR h.probe_until > :now)`;

/**
 * Records one failure of a relay: its totals and its streak go up; a probe under way is over. With `unopenedPeer`,
 * only while that peer's row is on the relay and not opened: a client's word counts once, and only for a
 * connection that really never opened.
 */
export function relayFailed(relayId: string, what: RelayFailure, error: string, now: number, unopenedPeer: string | null = null): InStatement {
  const column = what === 'call' ? 'failures' : 'never_opened';
  return {
    sql: `INSERT INTO relay_health (relay_id, ${column}, consecutive_failures, last_failure_at, last_error)
          SELECT ?1, 1, 1, ?2, ?3
          WHERE ?4 IS NULL OR EXISTS (SELECT 1 FROM relay_peers WHERE peer_id = ?4 AND relay_id = ?1 AND opened_at IS NULL)
          ON CONFLICT(relay_id) DO UPDATE SET ${column} = ${column} + 1, consecutive_failures = consecutive_failures + 1,
            last_failure_at = excluded.last_failure_at, last_error = excluded.last_error, probe_until = 0`,
    args: [relayId, Math.round(now), error.slice(0, 500), unopenedPeer],
  };
}

/** Clears a relay's failure streak (a connection opened on it); writes nothing for a relay without one. */
export function relayOpenedConnection(relayId: string, now: number): InStatement {
  return {
    sql: 'UPDATE relay_health SET consecutive_failures = 0, probe_until = 0, last_success_at = ? WHERE relay_id = ? AND consecutive_failures > 0',
    args: [Math.round(now), relayId],
  };
}

/** Records a failure now. */
export async function recordRelayFailure(db: Db, relayId: string, what: RelayFailure, error: string, now = Date.now()): Promise<void> {
  await db.execute(relayFailed(relayId, what, error, now));
}

/** A relay's record, for tests and operators. */
export interface RelayHealth {
  relay_id: string;
  failures: number;
  never_opened: number;
  consecutive_failures: number;
  last_failure_at: number | null;
  last_error: string | null;
}

/** The record of one relay, or null if nothing was ever recorded. */
export async function relayHealth(db: Db, relayId: string): Promise<RelayHealth | null> {
  const rs = await db.execute({ sql: 'SELECT * FROM relay_health WHERE relay_id = ?', args: [relayId] });
  const r = rs.rows[0] as unknown as Record<string, unknown> | undefined;
  if (!r) return null;
  return {
    relay_id: String(r.relay_id),
    failures: Number(r.failures),
    never_opened: Number(r.never_opened),
    consecutive_failures: Number(r.consecutive_failures),
    last_failure_at: r.last_failure_at == null ? null : Number(r.last_failure_at),
    last_error: r.last_error == null ? null : String(r.last_error),
  };
}
