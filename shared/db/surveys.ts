import type { DirectionStats } from '../stats/direction-stats.js';
import type { IpFamily } from '../ip-family.js';
import type { Db, InStatement } from './client.js';

export interface MetricRow {
  session_id: string;
  conn_id: string;
  timestamp_ms: number;
  source: 'server' | 'client';
  direction: 'c2s' | 's2c';
  stats: DirectionStats;
  /** Idempotency key: a retried write of the same row lands once. */
  row_key?: string;
  /** PROTOCOL §2 v3: the connection's family and path, fixed at set-up (absent: the client named none). */
  family?: IpFamily;
  path_index?: number;
}

/** Creates the survey_sessions row; a repeat for the same id (second connection of a multi-path test) changes nothing. */
export function insertSurveySession(s: { session_id: string; magic_key: string; user_login: string | null; now: number }): InStatement {
  const now = Math.round(s.now);
  return {
    sql: `INSERT INTO survey_sessions (session_id, magic_key, user_login, start_time, last_update_time, created_at)
          VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(session_id) DO NOTHING`,
    args: [s.session_id, s.magic_key, s.user_login, now, now, now],
  };
}

/**
 * Creates the survey's row for `magic_key` unless one exists, and answers the
 * magic key that owns it, in one transaction: of two relays starting the same
 * survey id at once, the first insert wins and the other sees its owner.
 */
export async function claimSurvey(db: Db, s: { session_id: string; magic_key: string; user_login: string | null; now: number }): Promise<string> {
  const [, owner] = await db.batch([insertSurveySession(s), { sql: 'SELECT magic_key FROM survey_sessions WHERE session_id = ?', args: [s.session_id] }], 'write');
  return String(owner!.rows[0]!.magic_key);
}

/** One survey_metrics row (`delay_*` columns hold delay_deviation_ms); a row whose `row_key` is already stored is not written again. */
export function insertMetric(m: MetricRow, now: number): InStatement {
  const st = m.stats;
  const opt = (v: number | boolean | undefined) => (v === undefined ? null : typeof v === 'boolean' ? Number(v) : v);
  return {
    sql: `INSERT INTO survey_metrics (session_id, timestamp_ms, source, conn_id, direction,
            delay_p50_ms, delay_p99_ms, delay_min_ms, delay_max_ms,
            jitter_p50_ms, jitter_p99_ms, jitter_min_ms, jitter_max_ms,
            rtt_p50_ms, rtt_p99_ms, rtt_min_ms, rtt_max_ms,
            loss_rate, reorder_rate, probe_count, baseline_delay_ms, created_at,
            probes_expected, late_count, sender_paused_ms, loaded, throughput_bps, loss_tmax_ms, row_key,
            window_index, lost_count, delay_sketch, ipdv_sketch, rtt_sketch, sketch_format, family, path_index)
          VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
          ON CONFLICT(row_key) DO NOTHING`,
    args: [
      m.session_id,
      Math.round(m.timestamp_ms),
      m.source,
      m.conn_id,
      m.direction,
      ...(st.delay_deviation_ms ?? [null, null, null, null]),
      ...st.jitter_ms,
      ...st.rtt_ms,
      st.loss_rate,
      st.reorder_rate,
      st.probe_count,
      st.baseline_delay_ms,
      Math.round(now),
      opt(st.probes_expected),
      opt(st.late_count),
      opt(st.sender_paused_ms),
      opt(st.loaded),
      opt(st.throughput_bps),
      opt(st.loss_tmax_ms),
      m.row_key ?? null,
      opt(st.window_index),
      opt(st.lost_count),
      st.sketches?.delay ?? null,
      st.sketches?.ipdv ?? null,
      st.sketches?.rtt ?? null,
      st.sketches ? (st.sketch_format ?? null) : null,
      m.family ?? null,
      m.path_index ?? null,
    ],
  };
}

/** Moves a session's last_update_time forward (never back: rows of a buffered retry may be older). */
export function touchSurveySession(sessionId: string, at: number): InStatement {
  return {
    sql: 'UPDATE survey_sessions SET last_update_time = MAX(last_update_time, ?) WHERE session_id = ?',
    args: [Math.round(at), sessionId],
  };
}

/** Stores the capture file paths of an explicitly stopped session; the first stored stays (every capture is in survey_captures). */
export function setSurveyCaptureFiles(sessionId: string, pcapPath: string | null, keylogPath: string | null): InStatement {
  return {
    sql: 'UPDATE survey_sessions SET pcap_path = COALESCE(pcap_path, ?), keylog_path = COALESCE(keylog_path, ?) WHERE session_id = ?',
    args: [pcapPath, keylogPath, sessionId],
  };
}

/** One connection's capture file of a survey; a retried write lands once. */
export function insertSurveyCapture(c: { session_id: string; conn_id: string; peer_id: string; path: string; bytes: number; records: number; dropped: number; created_at: number }): InStatement {
  return {
    sql: `INSERT INTO survey_captures (session_id, conn_id, peer_id, path, bytes, records, dropped, created_at)
          VALUES (?, ?, ?, ?, ?, ?, ?, ?)
          ON CONFLICT(session_id, conn_id, peer_id) DO UPDATE SET path = excluded.path, bytes = excluded.bytes, records = excluded.records, dropped = excluded.dropped`,
    // The edge may have stored the file (and made the row) before this batched write lands: its storage columns are kept.
    args: [c.session_id, c.conn_id, c.peer_id, c.path, c.bytes, c.records, c.dropped, Math.round(c.created_at)],
  };
}

/** How a survey's connection ended: by the client, the relay's going, or a limit the relay enforced (the `error` code it sent). */
export type SurveyEndReason =
  | 'stopped'
  | 'closed'
  | 'relay_shutdown'
  | 'relay_restart'
  | 'idle_timeout'
  | 'connection_time_limit'
  | 'time_limit'
  | 'key_revoked'
  | 'key_expired'
  | 'too_large'
  | 'rate_limited';

/** Records a survey's end; of several ends (one per connection) the latest wins, and end_time never moves back. */
export function endSurveySession(sessionId: string, at: number, reason: SurveyEndReason): InStatement {
  const t = Math.round(at);
  return {
    sql: 'UPDATE survey_sessions SET end_time = ?, end_reason = ? WHERE session_id = ? AND (end_time IS NULL OR end_time <= ?)',
    args: [t, reason, sessionId, t],
  };
}

/**
 * Raises a survey's measured time (all its connections) to `ms`, never lowering it: each connection writes the
 * survey's total as it knows it, so a retried or late write counts nothing twice, and parallel connections of
 * one survey count their common time once.
 */
export function raiseSurveyMeasured(sessionId: string, ms: number): InStatement {
  return {
    sql: 'UPDATE survey_sessions SET measured_ms = MAX(measured_ms, ?) WHERE session_id = ?',
    args: [Math.round(ms), sessionId],
  };
}

/** Reads a survey's measured time (no row: none used yet). */
export function selectSurveyMeasured(sessionId: string): InStatement {
  return { sql: 'SELECT measured_ms FROM survey_sessions WHERE session_id = ?', args: [sessionId] };
}
