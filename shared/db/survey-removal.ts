// Soft delete, restore and purge of a survey: its session row, metric rows, recordings and captures move together.
import type { Db } from './client.js';

/** Tables whose rows carry the seed schema's deleted / deleted_at / deleted_by, all keyed by session_id. */
const SOFT_DELETE_TABLES = ['survey_sessions', 'survey_metrics', 'recordings'] as const;

/** Appends one line to audit_log (migration 11). */
export function auditStatement(actor: string, action: string, subject: string, detail: unknown, at = Date.now()) {
  return { sql: 'INSERT INTO audit_log (at, actor, action, subject, detail) VALUES (?, ?, ?, ?, ?)', args: [at, actor, action, subject, JSON.stringify(detail)] };
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
  /** Chunks of uploads not assembled yet, each its own object (the edge names it from the recording's key). */
  uploadChunks: { storageKey: string; idx: number }[];
  /** Captures no object store holds yet (their path on a relay): out of the edge's reach. */
  relayCaptures: string[];
}

/** Lists the files behind a survey's rows, read in one snapshot. */
export async function surveyFiles(db: Db, surveyId: string): Promise<SurveyFiles> {
  const [recs, chunks, caps] = await db.batch(
    [
      { sql: "SELECT storage_key FROM recordings WHERE session_id = ? AND COALESCE(storage_key, '') <> ''", args: [surveyId] },
      {
        sql: `SELECT r.storage_key, c.idx FROM recording_chunks c JOIN recordings r ON r.recording_id = c.recording_id
              WHERE r.session_id = ? AND COALESCE(r.storage_key, '') <> ''`,
        args: [surveyId],
      },
      { sql: 'SELECT storage_key, path FROM survey_captures WHERE session_id = ?', args: [surveyId] },
    ],
    'read',
  );
  const files: SurveyFiles = { objectKeys: [], uploadChunks: [], relayCaptures: [] };
  for (const r of recs?.rows ?? []) files.objectKeys.push(String(r.storage_key));
  for (const r of chunks?.rows ?? []) files.uploadChunks.push({ storageKey: String(r.storage_key), idx: Number(r.idx) });
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

/** Removes the survey's rows for good and logs who did it, in one transaction. */
export async function purgeSurveyRows(db: Db, surveyId: string, login: string, files: SurveyFiles, now = Date.now()): Promise<PurgeCounts> {
  const tx = await db.transaction('write');
  try {
    const run = async (sql: string) => (await tx.execute({ sql, args: [surveyId] })).rowsAffected;
    const counts: PurgeCounts = {
      recording_chunks: await run('DELETE FROM recording_chunks WHERE recording_id IN (SELECT recording_id FROM recordings WHERE session_id = ?)'),
      recordings: await run('DELETE FROM recordings WHERE session_id = ?'),
      captures: await run('DELETE FROM survey_captures WHERE session_id = ?'),
      metric_rows: await run('DELETE FROM survey_metrics WHERE session_id = ?'),
    };
    await run('DELETE FROM survey_path_hops WHERE session_id = ?');
    await run('DELETE FROM survey_path_traces WHERE session_id = ?');
    await run('DELETE FROM survey_sessions WHERE session_id = ?');
    await tx.execute(auditStatement(login, 'survey_purge', surveyId, { ...counts, objects_deleted: files.objectKeys.length + files.uploadChunks.length, relay_captures_left: files.relayCaptures }, now));
    await tx.commit();
    return counts;
  } finally {
    tx.close();
  }
}
