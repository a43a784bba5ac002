// Recording rows (the seed's `recordings` table, one file per row) and the chunks of their uploads.
import type { Db, InStatement, ResultSet } from './client.js';
import type { SqlCondition } from './survey-list.js';

export interface RecordingRow {
  recording_id: string;
  session_id: string;
  kind: 'video' | 'sensors';
  mime: string;
  size_bytes: number;
  sha256: string;
  chunk_bytes: number;
  /** The R2 multipart upload, from the first chunk on (NULL before it; '' on a swept one that never had one). */
  upload_id: string | null;
  /** The whole file's SHA-256 over the chunks taken so far, in order (resumable-sha256's text); NULL: none yet. */
  hash_state: string | null;
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

export type NewRecording = Omit<RecordingRow, 'status' | 'uploaded_bytes' | 'completed_at' | 'deleted' | 'hash_state'>;

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
  return recordingFrom(rs.rows[0] as unknown as Record<string, unknown> | undefined);
}

/** A `recordings` row as a RecordingRow; null for none, or a seed row without a kind (not one of ours). */
function recordingFrom(r: Record<string, unknown> | undefined): RecordingRow | null {
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
    hash_state: r.hash_state == null ? null : String(r.hash_state),
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
  /** The chunk object's etag ('' when the chunk closed a part and was never stored alone). */
  etag: string;
  /** On the chunk that closed a part: the part's etag. */
  part_etag: string | null;
}

const chunkRow = (r: Record<string, unknown>): ChunkRow => ({
  idx: Number(r.idx),
  size: Number(r.size),
  sha256: String(r.sha256),
  etag: String(r.etag),
  part_etag: r.part_etag == null ? null : String(r.part_etag),
});

/** Chunks `from`…`to` of a recording that the server holds (one part's worth), by index. */
export async function chunkRange(db: Db, id: string, from: number, to: number): Promise<ChunkRow[]> {
  const rs = await db.execute({ sql: 'SELECT idx, size, sha256, etag, part_etag FROM recording_chunks WHERE recording_id = ? AND idx BETWEEN ? AND ? ORDER BY idx', args: [id, from, to] });
  return rs.rows.map((r) => chunkRow(r as unknown as Record<string, unknown>));
}

/** The etags of a recording's uploaded parts, by the chunk that closed each, in order. */
export async function partEtags(db: Db, id: string): Promise<{ idx: number; etag: string }[]> {
  const rs = await db.execute({ sql: 'SELECT idx, part_etag FROM recording_chunks WHERE recording_id = ? AND part_etag IS NOT NULL ORDER BY idx', args: [id] });
  return rs.rows.map((r) => ({ idx: Number(r.idx), etag: String(r.part_etag) }));
}

/** Where a recording stands now, as a chunk request sees it: its status and bytes, and the chunks of one part. */
export interface ChunkStanding {
  pending: boolean;
  uploadedBytes: number;
  hashState: string | null;
  part: ChunkRow[];
}

const standingSql = (col: string) => `SELECT upload_status, COALESCE(deleted, 0) AS deleted, hash_state, COALESCE(${col}, 0) AS n FROM recordings WHERE recording_id = ?`;
const PART_ROWS_SQL = 'SELECT idx, size, sha256, etag, part_etag FROM recording_chunks WHERE recording_id = ? AND idx BETWEEN ? AND ? ORDER BY idx';

function standing(rec: { rows: unknown[] } | undefined, part: { rows: unknown[] } | undefined): ChunkStanding {
  const r = rec?.rows[0] as Record<string, unknown> | undefined;
  return {
    pending: r !== undefined && r.upload_status === 'pending' && Number(r.deleted) === 0,
    uploadedBytes: Number(r?.n ?? 0),
    hashState: r?.hash_state == null ? null : String(r.hash_state),
    part: (part?.rows ?? []).map((x) => chunkRow(x as Record<string, unknown>)),
  };
}

/** A recording's standing and its chunks `from`…`to` (one part), read in one snapshot. */
export async function chunkStanding(db: Db, id: string, kind: 'video' | 'sensors', from: number, to: number): Promise<ChunkStanding> {
  const [rec, part] = await db.batch(
    [
      { sql: standingSql(uploadedColumn(kind)), args: [id] },
      { sql: PART_ROWS_SQL, args: [id, from, to] },
    ],
    'read',
  );
  return standing(rec, part);
}

const uploadedColumn = (kind: 'video' | 'sensors') => (kind === 'video' ? 'video_uploaded_bytes' : 'sensor_uploaded_bytes');

/** A chunk taken in order: what it moves the recording's state to. */
export interface ChunkCommit {
  chunk: ChunkRow;
  /** The hash state the chunk was hashed on from (the recording's as read), and after it. */
  stateBefore: string | null;
  stateAfter: string;
  /** The multipart upload (set by the first chunk). */
  uploadId: string;
}

/**
 * Takes a chunk in order: moves the hash state on and records the chunk, only
 * if the recording is still pending and its state is still the one the chunk
 * was hashed on from (a compare-and-set: of two requests for the same chunk
 * one wins). Answers with where the recording stands afterwards (with the
 * chunks of the chunk's part), and whether this commit was the one that moved it.
 */
export async function commitChunk(db: Db, id: string, kind: 'video' | 'sensors', c: ChunkCommit, span: { first: number; last: number }, now = Date.now()): Promise<ChunkStanding & { moved: boolean }> {
  const col = uploadedColumn(kind);
  const [moved, , rec, part] = await db.batch(
    [
      {
        sql: `UPDATE recordings SET hash_state = ?, upload_id = ?, ${col} = COALESCE(${col}, 0) + ?
              WHERE recording_id = ? AND upload_status = 'pending' AND COALESCE(deleted, 0) = 0 AND hash_state IS ?`,
        args: [c.stateAfter, c.uploadId, c.chunk.size, id, c.stateBefore],
      },
      {
        sql: `INSERT INTO recording_chunks (recording_id, idx, size, sha256, etag, part_etag, created_at)
              SELECT ?, ?, ?, ?, ?, ?, ? WHERE changes() > 0
              ON CONFLICT(recording_id, idx) DO NOTHING`,
        args: [id, c.chunk.idx, c.chunk.size, c.chunk.sha256, c.chunk.etag, c.chunk.part_etag, now],
      },
      { sql: standingSql(col), args: [id] },
      { sql: PART_ROWS_SQL, args: [id, span.first, span.last] },
    ],
    'write',
  );
  return { ...standing(rec, part), moved: moved!.rowsAffected > 0 };
}

/** Records the etag of the part closed by chunk `idx` (its latest upload). */
export async function setPartEtag(db: Db, id: string, idx: number, etag: string): Promise<void> {
  await db.execute({ sql: 'UPDATE recording_chunks SET part_etag = ? WHERE recording_id = ? AND idx = ? AND part_etag IS NOT NULL', args: [etag, id, idx] });
}

/**
 * Marks a recording complete (verified) or failed, only from pending; chunk
 * rows are no longer needed either way. A failed one's upload_id is cleared:
 * its upload is aborted before (the abandoned-upload sweep reads a failed row
 * with an upload_id as one whose objects are not all gone yet).
 */
export async function finishRecording(db: Db, id: string, status: 'complete' | 'failed', now = Date.now()): Promise<void> {
  await db.batch(
    [
      {
        sql: `UPDATE recordings SET upload_status = ?, completed_at = ?, upload_id = CASE WHEN ? = 'failed' THEN NULL ELSE upload_id END
              WHERE recording_id = ? AND upload_status = 'pending'`,
        args: [status, status === 'complete' ? now : null, status, id],
      },
      { sql: 'DELETE FROM recording_chunks WHERE recording_id = ?', args: [id] },
    ],
    'write',
  );
}

/** A recording whose upload the sweep removes: where its objects are. */
export interface AbandonedUpload {
  recording_id: string;
  storage_key: string;
  /** '' when it never got a multipart upload. */
  upload_id: string;
}

/**
 * Marks failed (so no chunk is taken any more) up to `limit` pending
 * recordings announced before `cutoff` that took no chunk since, and answers
 * them together with earlier marked ones whose objects were not all removed
 * (a failed row that still names an upload: '' for none).
 */
export async function markAbandonedUploads(db: Db, cutoff: number, limit: number): Promise<AbandonedUpload[]> {
  const [, rs] = await db.batch(
    [
      {
        sql: `UPDATE recordings SET upload_status = 'failed', upload_id = COALESCE(upload_id, '')
              WHERE recording_id IN (
                SELECT r.recording_id FROM recordings r
                WHERE r.upload_status = 'pending' AND r.kind IS NOT NULL AND r.created_at < ?
                  AND NOT EXISTS (SELECT 1 FROM recording_chunks c WHERE c.recording_id = r.recording_id AND c.created_at >= ?)
                LIMIT ?)`,
        args: [cutoff, cutoff, limit],
      },
      { sql: "SELECT recording_id, storage_key, upload_id FROM recordings WHERE upload_status = 'failed' AND upload_id IS NOT NULL LIMIT ?", args: [limit] },
    ],
    'write',
  );
  return rs!.rows.map((r) => ({ recording_id: String(r.recording_id), storage_key: String(r.storage_key ?? ''), upload_id: String(r.upload_id) }));
}

/** Removes swept recordings' rows (their objects are gone), and their chunk rows. */
export async function dropSweptRecordings(db: Db, ids: string[]): Promise<void> {
  if (ids.length === 0) return;
  const marks = ids.map(() => '?').join(', ');
  await db.batch(
    [
      { sql: `DELETE FROM recording_chunks WHERE recording_id IN (${marks})`, args: ids },
      { sql: `DELETE FROM recordings WHERE upload_status = 'failed' AND recording_id IN (${marks})`, args: ids },
    ],
    'write',
  );
}

/** The complete recordings of a survey (not deleted), oldest first: what its detail page plays. */
export async function surveyRecordings(db: Db, surveyId: string): Promise<RecordingRow[]> {
  return surveyRecordingsFrom(await db.execute(surveyRecordingsStatement(surveyId)));
}

/** surveyRecordings' query, for a batch; rows only while `gate` holds (see surveySummaryStatements). Read it with surveyRecordingsFrom. */
export function surveyRecordingsStatement(surveyId: string, gate: SqlCondition = { sql: '1', args: [] }): InStatement {
  return {
    sql: `SELECT * FROM recordings WHERE session_id = ? AND (${gate.sql}) AND COALESCE(deleted, 0) = 0 AND kind IS NOT NULL AND upload_status = 'complete'
          ORDER BY created_at`,
    args: [surveyId, ...gate.args],
  };
}

/** The recordings a surveyRecordingsStatement result holds. */
export function surveyRecordingsFrom(rs: ResultSet): RecordingRow[] {
  return rs.rows.map((r) => recordingFrom(r as unknown as Record<string, unknown>)).filter((r): r is RecordingRow => r !== null);
}
