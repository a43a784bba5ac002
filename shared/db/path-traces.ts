// Path traces of a survey's connections: written by the relay (one trace row, one row per hop), read by the survey detail.
import type { PathHop } from '../protocol/control.js';
import type { Db, InStatement, ResultSet } from './client.js';
import type { SqlCondition } from './survey-list.js';

/** One stored trace as the survey detail shows it (PROTOCOL v3 `path_traces`). */
export interface StoredPathTrace {
  conn_id: string;
  at_ms: number;
  available: boolean;
  reason: string | null;
  path_mtu: number | null;
  mtu_hop: number | null;
  mtu_hop_address: string | null;
  hops: PathHop[];
}

/** What the relay records of one trace. */
export interface PathTraceRecord {
  traceId: string;
  sessionId: string;
  connId: string;
  relayId: string;
  atMs: number;
  target: string | null;
  available: boolean;
  reason: string | null;
  pathMtu: number | null;
  mtuHop: number | null;
  mtuHopAddress: string | null;
  hops: PathHop[];
}

/** The statements that store one trace and its hops; INSERT OR IGNORE, so a retried batch never doubles them. */
export function pathTraceStatements(t: PathTraceRecord): InStatement[] {
  return [
    {
      sql: `INSERT OR IGNORE INTO survey_path_traces (trace_id, session_id, conn_id, relay_id, at_ms, target, available, reason, path_mtu, mtu_hop, mtu_hop_address)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      args: [t.traceId, t.sessionId, t.connId, t.relayId, t.atMs, t.target, t.available ? 1 : 0, t.reason, t.pathMtu, t.mtuHop, t.mtuHopAddress],
    },
    ...t.hops.map((h) => ({
      sql: `INSERT OR IGNORE INTO survey_path_hops (trace_id, session_id, conn_id, at_ms, ttl, address, name, rtt_p50_ms, rtt_max_ms, loss_rate, probes)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      args: [t.traceId, t.sessionId, t.connId, t.atMs, h.ttl, h.address, h.name ?? null, h.rtt_ms?.[0] ?? null, h.rtt_ms?.[1] ?? null, h.loss_rate, h.probes ?? 0],
    })),
  ];
}

/** Every trace of a survey, oldest first, each with its hops in TTL order. */
export async function surveyPathTraces(db: Db, sessionId: string): Promise<StoredPathTrace[]> {
  return surveyPathTracesFrom(await db.batch(surveyPathTraceStatements(sessionId), 'read'));
}

/** surveyPathTraces' two queries (traces, hops), for a batch; rows only while `gate` holds (see surveySummaryStatements). Read them with surveyPathTracesFrom. */
export function surveyPathTraceStatements(sessionId: string, gate: SqlCondition = { sql: '1', args: [] }): InStatement[] {
  const args = [sessionId, ...gate.args];
  return [
    { sql: `SELECT * FROM survey_path_traces WHERE session_id = ? AND (${gate.sql}) ORDER BY at_ms, trace_id`, args },
    { sql: `SELECT * FROM survey_path_hops WHERE session_id = ? AND (${gate.sql}) ORDER BY trace_id, ttl`, args },
  ];
}

/** The traces the results of surveyPathTraceStatements hold. */
export function surveyPathTracesFrom([traces, hops]: readonly ResultSet[]): StoredPathTrace[] {
  if (!traces || !hops) return [];
  const byTrace = new Map<string, PathHop[]>();
  for (const r of hops.rows) {
    const list = byTrace.get(String(r.trace_id)) ?? [];
    const p50 = r.rtt_p50_ms === null ? null : Number(r.rtt_p50_ms);
    list.push({
      ttl: Number(r.ttl),
      address: r.address === null ? null : String(r.address),
      name: r.name === null ? null : String(r.name),
      rtt_ms: p50 === null ? null : [p50, Number(r.rtt_max_ms ?? p50)],
      loss_rate: Number(r.loss_rate),
      probes: Number(r.probes),
    });
    byTrace.set(String(r.trace_id), list);
  }
  return traces.rows.map((r) => ({
    conn_id: String(r.conn_id),
    at_ms: Number(r.at_ms),
    available: Number(r.available) !== 0,
    reason: r.reason === null ? null : String(r.reason),
    path_mtu: r.path_mtu === null ? null : Number(r.path_mtu),
    mtu_hop: r.mtu_hop === null ? null : Number(r.mtu_hop),
    mtu_hop_address: r.mtu_hop_address === null ? null : String(r.mtu_hop_address),
    hops: byTrace.get(String(r.trace_id)) ?? [],
  }));
}

/** The CSV export's columns: one row per hop, its trace's fields repeated (an unavailable trace: one row without hop fields). */
export const PATH_TRACE_CSV_COLUMNS = ['conn_id', 'at_ms', 'available', 'reason', 'path_mtu', 'mtu_hop', 'mtu_hop_address', 'ttl', 'address', 'name', 'rtt_p50_ms', 'rtt_max_ms', 'loss_rate', 'probes'] as const;

/** The rows of the CSV export, in PATH_TRACE_CSV_COLUMNS order. */
export function pathTraceCsvRows(traces: readonly StoredPathTrace[]): (string | number | boolean | null)[][] {
  return traces.flatMap((t) => {
    const head = [t.conn_id, t.at_ms, t.available, t.reason, t.path_mtu, t.mtu_hop, t.mtu_hop_address];
    if (!t.hops.length) return [[...head, null, null, null, null, null, null, null]];
    return t.hops.map((h) => [...head, h.ttl, h.address, h.name ?? null, h.rtt_ms?.[0] ?? null, h.rtt_ms?.[1] ?? null, h.loss_rate, h.probes ?? null]);
  });
}
