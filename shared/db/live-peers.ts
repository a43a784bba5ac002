// The peers connected now, for the console's live view: open relay_peers rows with their relay, key and latest second.
import type { InStatement, InValue, ResultSet } from '@libsql/client';
import type { Db } from './client.js';

/** One direction's last second as the live view shows it. */
export interface LiveStats {
  timestamp_ms: number;
  loss_rate: number | null;
  rtt_p50_ms: number | null;
  delay_p50_ms: number | null;
  delay_p99_ms: number | null;
  jitter_p50_ms: number | null;
  throughput_bps: number | null;
}

export interface LivePeer {
  peer_id: string;
  relay_id: string;
  region: string;
  key_id: string;
  key_label: string;
  survey_session_id: string | null;
  conn_id: string;
  connected_at: number;
  /** 'connected'; 'relay_lost' when its relay stopped heartbeating (the peer is shown a while, then dropped). */
  state: 'connected' | 'relay_lost';
  last_heartbeat: number;
  last_stats: { c2s: LiveStats | null; s2c: LiveStats | null };
}

const STATS_COLUMNS = 'timestamp_ms, loss_rate, rtt_p50_ms, delay_p50_ms, delay_p99_ms, jitter_p50_ms, throughput_bps';

/** The latest row of one direction of a peer's survey connection (index idx_metrics_session makes this a short walk). */
const latest = (direction: 'c2s' | 's2c') =>
  `(SELECT json_object(${STATS_COLUMNS.split(', ').map((c) => `'${c}', m.${c}`).join(', ')})
      FROM survey_metrics m
     WHERE m.session_id = p.survey_session_id AND m.conn_id = p.conn_id AND m.direction = '${direction}'
     ORDER BY m.timestamp_ms DESC LIMIT 1)`;

/**
 * Open peers on relays heard from since `lostSince` (older relays' peers are
 * gone from the view), newest first; `access` keeps only the viewer's keys
 * (a condition on `p.magic_key`).
 */
export async function listLivePeers(db: Db, opts: LivePeersQuery): Promise<LivePeer[]> {
  return livePeersFrom(await db.execute(livePeersStatement(opts)), opts.freshSince);
}

/** Which live peers to list: relays' freshness bounds and the viewer's access (a condition on `p` and its key `k`). */
export interface LivePeersQuery {
  freshSince: number;
  lostSince: number;
  access: { sql: string; args: InValue[] };
}

/** listLivePeers' query, for a caller that batches it (with the viewer's lookup); read its result with livePeersFrom. */
export function livePeersStatement(opts: LivePeersQuery): InStatement {
  return {
    sql: `SELECT p.peer_id, p.relay_id, r.region, r.last_heartbeat, k.key_id, k.label, p.survey_session_id, p.conn_id, p.created_at,
                 ${latest('c2s')} AS c2s, ${latest('s2c')} AS s2c
            FROM relay_peers p
            JOIN relays r ON r.id = p.relay_id
            JOIN magic_keys k ON k.key = p.magic_key
           WHERE p.closed_at IS NULL AND r.last_heartbeat >= ? AND ${opts.access.sql}
           ORDER BY p.created_at DESC, p.peer_id
           LIMIT 1000`,
    args: [opts.lostSince, ...opts.access.args],
  };
}

/** The peers a livePeersStatement result holds; relays heard from before `freshSince` are marked relay_lost. */
export function livePeersFrom(rs: ResultSet, freshSince: number): LivePeer[] {
  return rs.rows.map((r) => ({
    peer_id: String(r.peer_id),
    relay_id: String(r.relay_id),
    region: String(r.region),
    key_id: String(r.key_id),
    key_label: String(r.label ?? ''),
    survey_session_id: r.survey_session_id == null ? null : String(r.survey_session_id),
    conn_id: String(r.conn_id),
    connected_at: Number(r.created_at),
    state: Number(r.last_heartbeat) >= freshSince ? 'connected' : 'relay_lost',
    last_heartbeat: Number(r.last_heartbeat),
    last_stats: { c2s: parseStats(r.c2s), s2c: parseStats(r.s2c) },
  }));
}

function parseStats(v: unknown): LiveStats | null {
  return typeof v === 'string' ? (JSON.parse(v) as LiveStats) : null;
}

/** Where a live peer is held, for ending it: its relay's id and internal URL, if the peer is open. */
export async function findOpenPeer(db: Db, peerId: string): Promise<{ relay_id: string; internal_url: string; magic_key: string } | null> {
  const rs = await db.execute({
    sql: 'SELECT p.relay_id, r.internal_url, p.magic_key FROM relay_peers p JOIN relays r ON r.id = p.relay_id WHERE p.peer_id = ? AND p.closed_at IS NULL',
    args: [peerId],
  });
  const r = rs.rows[0];
  return r ? { relay_id: String(r.relay_id), internal_url: String(r.internal_url), magic_key: String(r.magic_key) } : null;
}
