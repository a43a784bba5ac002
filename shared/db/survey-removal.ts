// Soft delete, restore and purge of a survey: its session row, metric rows, recordings and captures move together.
import type { InValue } from '@libsql/client';
import type { Db, InStatement, ResultSet } from './client.js';

/** Tables whose rows carry the seed schema's deleted / deleted_at / deleted_by, all keyed by session_id. */
const SOFT_DELETE_TABLES = ['survey_sessions', 'survey_metrics', 'recordings'] as const;

/** Appends one line to audit_log (migration 11). */
export function auditStatement(actor: string, action: string, subject: string, detail: unknown, at = Date.now()) {
  return auditLine(actor, action, subject, { sql: '?', args: [JSON.stringify(detail)] }, at);
}

/** An audit_log line whose detail is an SQL expression (JSON text), computed where the statement runs. */
function auditLine(actor: string, action: string, subject: string, detail: { sql: string; args: InValue[] }, at: number) {
  return { sql: `INSERT INTO audit_log (at, actor, action, subject, detail) VALUES (?, ?, ?, ?, ${detail.sql})`, args: [at, actor, action, subject, ...detail.args] };
}

/**
 * Marks the survey and its rows deleted by `login`, in one transaction.
 * Rows already deleted keep their first stamp, so a repeated delete changes nothing.
 */
export async function softDeleteSurvey(db: Db, surveyId: string, login: string, now = Date.now()): Promise<void> {
  await db.batch(
    [
      ...SOFT_DELETE_TABLES.map((t) => ({
        sql: `UPDATE ${t} SET deleted = 1, deleted_at = ?, deleted_by = ? WHERE session_id = ? AND COALESCE(deleted, 0) = 0`,
        args: [now, login, surveyId],
      })),
      auditStatement(login, 'survey_delete', surveyId, {}, now),
    ],
    'write',
  );
}

/** Undoes softDeleteSurvey: the survey and its rows are live again. */
export async function restoreSurvey(db: Db, surveyId: string, login: string, now = Date.now()): Promise<void> {
  await db.batch(
    [
      ...SOFT_DELETE_TABLES.map((t) => ({
        sql: `UPDATE ${t} SET deleted = 0, deleted_at = NULL, deleted_by = NULL WHERE session_id = ? AND COALESCE(deleted, 0) <> 0`,
        args: [surveyId],
      })),
      auditStatement(login, 'survey_restore', surveyId, {}, now),
    ],
    'write',
  );
}

/** The files a survey has: object-store keys the edge can delete, and captures still on a relay's disk. */
export interface SurveyFiles {
  /** Recordings' and stored captures' objects. */
  objectKeys: string[];
  /** Each recording's file: chunks may wait under its key's chunk prefix, and a pending one's multipart upload (if it has one) is open. */
  uploads: { storageKey: string; uploadId: string | null }[];
  /** Chunk objects found under the uploads' prefixes and deleted (filled in by whoever deletes them). */
  chunkObjects: number;
  /** Captures no object store holds yet (their path on a relay): out of the edge's reach. */
  relayCaptures: string[];
}

/** The queries that list the files behind a survey's rows, for a read batch (one snapshot); read their results with surveyFilesFrom. */
export function surveyFilesStatements(surveyId: string): InStatement[] {
  return [
    {
      sql: `SELECT storage_key, CASE WHEN upload_status = 'complete' THEN NULL ELSE NULLIF(upload_id, '') END AS upload_id
            FROM recordings WHERE session_id = ? AND COALESCE(storage_key, '') <> ''`,
      args: [surveyId],
    },
    { sql: 'SELECT storage_key, path FROM survey_captures WHERE session_id = ?', args: [surveyId] },
  ];
}

/** The files the results of surveyFilesStatements name. */
export function surveyFilesFrom([recs, caps]: readonly ResultSet[]): SurveyFiles {
  const files: SurveyFiles = { objectKeys: [], uploads: [], chunkObjects: 0, relayCaptures: [] };
  for (const r of recs?.rows ?? []) {
    files.objectKeys.push(String(r.storage_key));
    files.uploads.push({ storageKey: String(r.storage_key), uploadId: r.upload_id == null ? null : String(r.upload_id) });
  }
  for (const r of caps?.rows ?? []) {
    if (r.storage_key !== null && r.storage_key !== '') files.objectKeys.push(String(r.storage_key));
    else files.relayCaptures.push(String(r.path));
  }
  return files;
}

/** Counts of what a purge removed, kept in its audit line. */
export interface PurgeCounts {
  metric_rows: number;
  recordings: number;
  recording_chunks: number;
  captures: number;
}

/** The path traces of a survey (migration 21) and its connections' address pairs (26): deleted with it, not counted in the audit line. */
const SIDE_TABLES = ['survey_path_hops', 'survey_path_traces', 'survey_connections'] as const;

/** What a purge deletes, in the order it deletes it (chunks before their recordings; the session row last). */
const PURGED = [
  { count: 'recording_chunks', from: 'recording_chunks WHERE recording_id IN (SELECT recording_id FROM recordings WHERE session_id = ?)' },
  { count: 'recordings', from: 'recordings WHERE session_id = ?' },
  { count: 'captures', from: 'survey_captures WHERE session_id = ?' },
  { count: 'metric_rows', from: 'survey_metrics WHERE session_id = ?' },
] as const satisfies readonly { count: keyof PurgeCounts; from: string }[];

/**
 * Removes the survey's rows for good and logs who did it, in one write batch: one round trip and one
 * transaction, never a transaction held open across round trips while SQLite's only writer waits. The audit
 * line goes first and counts the rows its own transaction then deletes, so its numbers are the deleted ones.
 */
export async function purgeSurveyRows(db: Db, surveyId: string, login: string, files: SurveyFiles, now = Date.now()): Promise<PurgeCounts> {
  const detail = {
    sql: `json_object(${PURGED.map((p) => `'${p.count}', (SELECT count(*) FROM ${p.from})`).join(', ')}, 'objects_deleted', ?, 'relay_captures_left', json(?))`,
    args: [...PURGED.map(() => surveyId), files.objectKeys.length + files.chunkObjects, JSON.stringify(files.relayCaptures)],
  };
  const audit = auditLine(login, 'survey_purge', surveyId, detail, now);
  const results = await db.batch(
    [
      audit,
      ...PURGED.map((p) => ({ sql: `DELETE FROM ${p.from}`, args: [surveyId] })),
      ...SIDE_TABLES.map((t) => ({ sql: `DELETE FROM ${t} WHERE session_id = ?`, args: [surveyId] })),
      { sql: 'DELETE FROM survey_sessions WHERE session_id = ?', args: [surveyId] },
    ],
    'write',
  );
  const counts = { recording_chunks: 0, recordings: 0, captures: 0, metric_rows: 0 };
  PURGED.forEach((p, i) => (counts[p.count] = results[i + 1]?.rowsAffected ?? 0));
  return counts;
}
