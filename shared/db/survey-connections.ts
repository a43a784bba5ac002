// survey_connections (migration 26): one row per connection of a survey, its family, path and the address pair its
// ICE ended on. The relay writes it; the survey detail reads it.
import type { ConnectionPath } from '../protocol/paths.js';
import type { InStatement, ResultSet } from './client.js';
import type { SqlCondition } from './survey-list.js';

/** A connection's row as the relay knows it (client_prefix already cut to /24 or /48). */
export interface SurveyConnectionRow extends ConnectionPath {
  session_id: string;
}

/** Records (or completes) a connection's row; a later write fills in what an earlier one did not know. */
export function upsertSurveyConnection(c: SurveyConnectionRow, now: number): InStatement {
  return {
    sql: `INSERT INTO survey_connections (session_id, conn_id, family, path_index, client_prefix, client_port, relay_address, relay_port, candidate_type, created_at)
          VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
          ON CONFLICT(session_id, conn_id) DO UPDATE SET
            family = COALESCE(excluded.family, family), path_index = COALESCE(excluded.path_index, path_index),
            client_prefix = COALESCE(excluded.client_prefix, client_prefix), client_port = COALESCE(excluded.client_port, client_port),
            relay_address = COALESCE(excluded.relay_address, relay_address), relay_port = COALESCE(excluded.relay_port, relay_port),
            candidate_type = COALESCE(excluded.candidate_type, candidate_type)`,
    args: [c.session_id, c.conn_id, c.family, c.path_index, c.client_prefix, c.client_port, c.relay_address, c.relay_port, c.candidate_type, Math.round(now)],
  };
}

/** The statement reading a survey's connection rows (in order of family, path, creation), reading nothing unless `gate` holds. */
export function surveyConnectionsStatement(sessionId: string, gate: SqlCondition): InStatement {
  return {
    sql: `SELECT conn_id, family, path_index, client_prefix, client_port, relay_address, relay_port, candidate_type
          FROM survey_connections WHERE session_id = ? AND (${gate.sql})
          ORDER BY family IS NULL, family, path_index IS NULL, path_index, created_at, conn_id`,
    args: [sessionId, ...gate.args],
  };
}

const intOrNull = (v: unknown) => (v === null || v === undefined ? null : Number(v));
const strOrNull = (v: unknown) => (v === null || v === undefined ? null : String(v));

/** The connection rows from surveyConnectionsStatement's result. */
export function surveyConnectionsFrom(rs: ResultSet): ConnectionPath[] {
  return (rs.rows as unknown as Record<string, unknown>[]).map((r) => ({
    conn_id: String(r.conn_id),
    family: r.family === 'ipv4' || r.family === 'ipv6' ? r.family : null,
    path_index: intOrNull(r.path_index),
    client_prefix: strOrNull(r.client_prefix),
    client_port: intOrNull(r.client_port),
    relay_address: strOrNull(r.relay_address),
    relay_port: intOrNull(r.relay_port),
    candidate_type: strOrNull(r.candidate_type),
  }));
}
