// Where each connection's capture is kept once the object store holds it.
import type { Db, InStatement, ResultSet } from './client.js';
import type { SqlCondition } from './survey-list.js';

/**
 * Records that the object store holds a capture (the relay's own batched row may land before or after: neither
 * overwrites the other's columns). A capture is stored once: false, and nothing changed, when the row already
 * names a stored object (a replayed hand-off must neither replace nor orphan it).
 */
export async function markCaptureStored(db: Db, c: { session_id: string; conn_id: string; peer_id: string; storage_key: string; sha256: string; bytes: number }, now = Date.now()): Promise<boolean> {
  const rs = await db.execute({
    sql: `INSERT INTO survey_captures (session_id, conn_id, peer_id, path, bytes, records, dropped, created_at, storage_key, sha256, stored_at)
          VALUES (?, ?, ?, '', ?, 0, 0, ?, ?, ?, ?)
          ON CONFLICT(session_id, conn_id, peer_id) DO UPDATE SET storage_key = excluded.storage_key, sha256 = excluded.sha256, stored_at = excluded.stored_at
          WHERE survey_captures.storage_key IS NULL`,
    args: [c.session_id, c.conn_id, c.peer_id, c.bytes, now, c.storage_key, c.sha256, now],
  });
  return rs.rowsAffected === 1;
}

/** Whether the object store already holds the capture of this connection and peer of a survey. */
export async function captureIsStored(db: Db, c: { session_id: string; conn_id: string; peer_id: string }): Promise<boolean> {
  const rs = await db.execute({
    sql: 'SELECT 1 FROM survey_captures WHERE session_id = ? AND conn_id = ? AND peer_id = ? AND storage_key IS NOT NULL',
    args: [c.session_id, c.conn_id, c.peer_id],
  });
  return rs.rows.length > 0;
}

export interface StoredCapture {
  peer_id: string;
  storage_key: string;
  bytes: number;
  sha256: string;
  stored_at: number;
}

/** The stored captures of one connection of a survey, newest first (a reconnect makes another peer, another file). */
export async function storedCaptures(db: Db, surveyId: string, connId: string): Promise<StoredCapture[]> {
  const rs = await db.execute({
    sql: `SELECT peer_id, storage_key, bytes, sha256, stored_at FROM survey_captures
          WHERE session_id = ? AND conn_id = ? AND storage_key IS NOT NULL ORDER BY stored_at DESC`,
    args: [surveyId, connId],
  });
  return rs.rows.map((r) => ({ peer_id: String(r.peer_id), storage_key: String(r.storage_key), bytes: Number(r.bytes), sha256: String(r.sha256), stored_at: Number(r.stored_at) }));
}

/** Every stored capture of a survey, by connection (the detail page links them). */
export async function surveyStoredCaptures(db: Db, surveyId: string): Promise<(StoredCapture & { conn_id: string })[]> {
  return surveyStoredCapturesFrom(await db.execute(surveyStoredCapturesStatement(surveyId)));
}

/** surveyStoredCaptures' query, for a batch; rows only while `gate` holds (see surveySummaryStatements). Read it with surveyStoredCapturesFrom. */
export function surveyStoredCapturesStatement(surveyId: string, gate: SqlCondition = { sql: '1', args: [] }): InStatement {
  return {
    sql: `SELECT conn_id, peer_id, storage_key, bytes, sha256, stored_at FROM survey_captures
          WHERE session_id = ? AND (${gate.sql}) AND storage_key IS NOT NULL ORDER BY conn_id, stored_at`,
    args: [surveyId, ...gate.args],
  };
}

/** The captures a surveyStoredCapturesStatement result holds. */
export function surveyStoredCapturesFrom(rs: ResultSet): (StoredCapture & { conn_id: string })[] {
  return rs.rows.map((r) => ({ conn_id: String(r.conn_id), peer_id: String(r.peer_id), storage_key: String(r.storage_key), bytes: Number(r.bytes), sha256: String(r.sha256), stored_at: Number(r.stored_at) }));
}

/** Captures this relay wrote that the store does not have yet (to hand off again after a restart). */
export async function unstoredCaptures(db: Db, pathPrefix: string): Promise<{ session_id: string; conn_id: string; peer_id: string; path: string }[]> {
  const rs = await db.execute({
    sql: "SELECT session_id, conn_id, peer_id, path FROM survey_captures WHERE storage_key IS NULL AND substr(path, 1, length(?)) = ? ORDER BY created_at",
    args: [pathPrefix, pathPrefix],
  });
  return rs.rows.map((r) => ({ session_id: String(r.session_id), conn_id: String(r.conn_id), peer_id: String(r.peer_id), path: String(r.path) }));
}
