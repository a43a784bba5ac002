// Recording rows (the seed's `recordings` table, one file per row) and the chunks of their uploads.
import type { Db } from './client.js';

export interface RecordingRow {
  recording_id: string;
  session_id: string;
  kind: 'video' | 'sensors';
  mime: string;
  size_bytes: number;
  sha256: string;
  chunk_bytes: number;
  /** Unused: chunks wait as objects of their own and are assembled on complete. */
  upload_id: string | null;
  storage_key: string;
  magic_key: string;
  status: 'pending' | 'complete' | 'failed';
  uploaded_bytes: number;
  started_at: number | null;
  device_info_json: string | null;
  user_notes: string | null;
  uploaded_by: string | null;
  created_at: number;
  completed_at: number | null;
  deleted: boolean;
}

export type NewRecording = Omit<RecordingRow, 'status' | 'uploaded_bytes' | 'completed_at' | 'deleted'>;

/**
 * Bytes a key's quota is counted against: every recording of the key whose
 * objects may still be in the store (pending and complete ones; a failed one's
 * objects are deleted before it is marked failed), deleted surveys' left out.
 */
const KEY_BYTES_SQL = `SELECT COALESCE(SUM(video_size_bytes + sensor_size_bytes), 0) AS n FROM recordings
  WHERE magic_key = ? AND COALESCE(deleted, 0) = 0 AND upload_status <> 'failed'`;

export type InsertOutcome = { ok: true } | { ok: false; reason: 'exists' } | { ok: false; reason: 'over_quota'; usedBytes: number };

/**
 * Inserts a recording if its key's recordings stay within `quotaBytes`: the
 * check and the insert are one statement, so parallel announces cannot all
 * pass. The seed's video_/sensor_ column pairs get this file's path and size
 * on its kind's side (the other side stays empty), so readers of the seed
 * schema still find it.
 */
export async function insertRecording(db: Db, r: NewRecording, quotaBytes: number): Promise<InsertOutcome> {
  const video = r.kind === 'video';
  const rs = await db.execute({
    sql: `INSERT INTO recordings (recording_id, session_id, video_path, sensor_path, video_size_bytes, sensor_size_bytes,
            upload_status, device_info_json, user_notes, created_at, kind, mime, sha256, chunk_bytes, upload_id, storage_key,
            magic_key, started_at, uploaded_by)
          SELECT ?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?
          WHERE (${KEY_BYTES_SQL}) + ? <= ?
          ON CONFLICT(recording_id) DO NOTHING`,
    args: [
      r.recording_id, r.session_id, video ? r.storage_key : '', video ? '' : r.storage_key, video ? r.size_bytes : 0, video ? 0 : r.size_bytes,
      r.device_info_json, r.user_notes, r.created_at, r.kind, r.mime, r.sha256, r.chunk_bytes, r.upload_id, r.storage_key,
      r.magic_key, r.started_at, r.uploaded_by,
      r.magic_key, r.size_bytes, quotaBytes,
    ],
  });
  if (rs.rowsAffected > 0) return { ok: true };
  // Nothing inserted: the id was taken (a parallel announce of it), or the quota said no.
  const [taken, used] = await db.batch(
    [
      { sql: 'SELECT 1 FROM recordings WHERE recording_id = ?', args: [r.recording_id] },
      { sql: KEY_BYTES_SQL, args: [r.magic_key] },
    ],
    'read',
  );
  if (taken!.rows.length > 0) return { ok: false, reason: 'exists' };
  return { ok: false, reason: 'over_quota', usedBytes: Number(used!.rows[0]?.n ?? 0) };
}

/** One recording by id (deleted ones too; callers decide). */
export async function findRecording(db: Db, id: string): Promise<RecordingRow | null> {
  const rs = await db.execute({ sql: 'SELECT * FROM recordings WHERE recording_id = ?', args: [id] });
  const r = rs.rows[0] as unknown as Record<string, unknown> | undefined;
  if (!r || r.kind == null) return null;
  const num = (v: unknown) => (v == null ? null : Number(v));
  const str = (v: unknown) => (v == null ? null : String(v));
  const video = r.kind === 'video';
  return {
    recording_id: String(r.recording_id),
    session_id: String(r.session_id),
    kind: video ? 'video' : 'sensors',
    mime: String(r.mime),
    size_bytes: Number(video ? r.video_size_bytes : r.sensor_size_bytes),
    sha256: String(r.sha256),
    chunk_bytes: Number(r.chunk_bytes),
    upload_id: r.upload_id == null ? null : String(r.upload_id),
    storage_key: String(r.storage_key),
    magic_key: String(r.magic_key),
    status: r.upload_status === 'complete' ? 'complete' : r.upload_status === 'failed' ? 'failed' : 'pending',
    uploaded_bytes: Number((video ? r.video_uploaded_bytes : r.sensor_uploaded_bytes) ?? 0),
    started_at: num(r.started_at),
    device_info_json: str(r.device_info_json),
    user_notes: str(r.user_notes),
    uploaded_by: str(r.uploaded_by),
    created_at: Number(r.created_at),
    completed_at: num(r.completed_at),
    deleted: Number(r.deleted ?? 0) !== 0,
  };
}

export interface ChunkRow {
  idx: number;
  size: number;
  sha256: string;
  etag: string;
}

/** The chunks the server holds for a recording, by index. */
export async function recordingChunks(db: Db, id: string): Promise<ChunkRow[]> {
  const rs = await db.execute({ sql: 'SELECT idx, size, sha256, etag FROM recording_chunks WHERE recording_id = ? ORDER BY idx', args: [id] });
  return rs.rows.map((r) => ({ idx: Number(r.idx), size: Number(r.size), sha256: String(r.sha256), etag: String(r.etag) }));
}

/**
 * Records a stored chunk and moves the uploaded byte count (a repeat of the
 * same chunk replaces it), only while the recording is pending: null when it
 * is not (completed, failed or deleted meanwhile), and the caller must then
 * delete the chunk's object, which nothing would ever assemble or count.
 */
export async function recordChunk(db: Db, id: string, kind: 'video' | 'sensors', c: ChunkRow, now = Date.now()): Promise<number | null> {
  const col = kind === 'video' ? 'video_uploaded_bytes' : 'sensor_uploaded_bytes';
  const [held, , total] = await db.batch(
    [
      {
        sql: `INSERT INTO recording_chunks (recording_id, idx, size, sha256, etag, created_at)
              SELECT ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM recordings WHERE recording_id = ? AND upload_status = 'pending' AND COALESCE(deleted, 0) = 0)
              ON CONFLICT(recording_id, idx) DO UPDATE SET size = excluded.size, sha256 = excluded.sha256, etag = excluded.etag, created_at = excluded.created_at`,
        args: [id, c.idx, c.size, c.sha256, c.etag, now, id],
      },
      { sql: `UPDATE recordings SET ${col} = (SELECT COALESCE(SUM(size), 0) FROM recording_chunks WHERE recording_id = ?) WHERE recording_id = ? AND upload_status = 'pending'`, args: [id, id] },
      { sql: `SELECT ${col} AS n FROM recordings WHERE recording_id = ?`, args: [id] },
    ],
    'write',
  );
  if (held!.rowsAffected === 0) return null;
  return Number(total!.rows[0]?.n ?? 0);
}

/** Marks a recording complete (verified) or failed; chunk rows are no longer needed either way. */
export async function finishRecording(db: Db, id: string, status: 'complete' | 'failed', now = Date.now()): Promise<void> {
  await db.batch(
    [
      { sql: 'UPDATE recordings SET upload_status = ?, completed_at = ? WHERE recording_id = ?', args: [status, status === 'complete' ? now : null, id] },
      { sql: 'DELETE FROM recording_chunks WHERE recording_id = ?', args: [id] },
    ],
    'write',
  );
}

/** The complete recordings of a survey (not deleted), oldest first: what its detail page plays. */
export async function surveyRecordings(db: Db, surveyId: string): Promise<RecordingRow[]> {
  const rs = await db.execute({
    sql: "SELECT recording_id FROM recordings WHERE session_id = ? AND COALESCE(deleted, 0) = 0 AND kind IS NOT NULL AND upload_status = 'complete' ORDER BY created_at",
    args: [surveyId],
  });
  const rows = await Promise.all(rs.rows.map((r) => findRecording(db, String(r.recording_id))));
  return rows.filter((r): r is RecordingRow => r !== null);
}
