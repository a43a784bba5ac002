// The export_jobs table (migration 22): one row per background export, holding all of the job's state so each
// queue message can continue where the last stopped (its row cursor, the multipart upload and the parts so far).
import * as z from 'zod';
import type { Db } from './client.js';
import type { DeletedFilter, RowPosition } from './metric-export.js';

export type ExportJobStatus = 'queued' | 'running' | 'done' | 'failed';
export type ExportJobFormat = 'csv' | 'ndjson';

/** What a job exports: the GET /api/surveys/export filter, and the requester's reach when they asked (null keys: an admin's, everything). */
export interface ExportJobFilter {
  key_id?: string;
  from?: number;
  to?: number;
  user?: string;
  deleted: DeletedFilter;
  keys: string[] | null;
}

/** Where the next step starts: after the last row wholly written, and how many bytes of the next row (at `next`) the last part already holds. */
export interface ExportCursor {
  after: RowPosition | null;
  next: RowPosition | null;
  skip: number;
}

export interface UploadedPartRef {
  partNumber: number;
  etag: string;
}

export interface ExportJob {
  id: string;
  requested_by: string;
  filter: ExportJobFilter;
  format: ExportJobFormat;
  status: ExportJobStatus;
  rows_done: number;
  total_rows: number | null;
  bytes: number;
  parts: UploadedPartRef[];
  upload_id: string | null;
  cursor: ExportCursor;
  storage_key: string;
  created_at: number;
  updated_at: number;
  finished_at: number | null;
  error: string | null;
}

const Position = z.object({ session: z.string(), time: z.number(), id: z.number() });
// The row's JSON columns are read back through these: a row written by another version must fail loudly, not half-work.
const FilterSchema = z.object({
  key_id: z.string().optional(),
  from: z.number().optional(),
  to: z.number().optional(),
  user: z.string().optional(),
  deleted: z.enum(['false', 'true', 'all']),
  keys: z.array(z.string()).nullable(),
});
const CursorSchema = z.object({ after: Position.nullable(), next: Position.nullable(), skip: z.number().int().nonnegative() });
const PartsSchema = z.array(z.object({ partNumber: z.number().int().positive(), etag: z.string() }));

const START: ExportCursor = { after: null, next: null, skip: 0 };

/** Records a new job, status queued. */
export async function insertExportJob(
  db: Db,
  job: { id: string; requestedBy: string; filter: ExportJobFilter; format: ExportJobFormat; storageKey: string; now: number },
): Promise<void> {
  await db.execute({
    sql: `INSERT INTO export_jobs (id, requested_by, filter, format, status, cursor, storage_key, created_at, updated_at) VALUES (?, ?, ?, ?, 'queued', ?, ?, ?, ?)`,
    args: [job.id, job.requestedBy, JSON.stringify(job.filter), job.format, JSON.stringify(START), job.storageKey, job.now, job.now],
  });
}

/** A job by id, or null. */
export async function findExportJob(db: Db, id: string): Promise<ExportJob | null> {
  const rs = await db.execute({ sql: 'SELECT * FROM export_jobs WHERE id = ?', args: [id] });
  const r = rs.rows[0];
  if (!r) return null;
  const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));
  return {
    id: String(r.id),
    requested_by: String(r.requested_by),
    filter: FilterSchema.parse(JSON.parse(String(r.filter))),
    format: r.format === 'ndjson' ? 'ndjson' : 'csv',
    status: z.enum(['queued', 'running', 'done', 'failed']).parse(r.status),
    rows_done: Number(r.rows_done),
    total_rows: num(r.total_rows),
    bytes: Number(r.bytes),
    parts: PartsSchema.parse(JSON.parse(String(r.parts))),
    upload_id: r.upload_id === null ? null : String(r.upload_id),
    cursor: r.cursor === null ? START : CursorSchema.parse(JSON.parse(String(r.cursor))),
    storage_key: String(r.storage_key),
    created_at: Number(r.created_at),
    updated_at: Number(r.updated_at),
    finished_at: num(r.finished_at),
    error: r.error === null ? null : String(r.error),
  };
}

/** Marks a queued job running with its multipart upload and row estimate; false if another step got there first. */
export async function startExportJob(db: Db, id: string, uploadId: string, totalRows: number, now: number): Promise<boolean> {
  const rs = await db.execute({
    sql: `UPDATE export_jobs SET status = 'running', upload_id = ?, total_rows = ?, updated_at = ? WHERE id = ? AND status = 'queued'`,
    args: [uploadId, totalRows, now, id],
  });
  return rs.rowsAffected === 1;
}

/**
 * Records one more uploaded part and where the next step starts, only if the
 * job still has exactly `partsBefore` parts (a message delivered twice
 * changes nothing the second time); false otherwise.
 */
export async function recordExportPart(
  db: Db,
  id: string,
  partsBefore: number,
  step: { parts: UploadedPartRef[]; cursor: ExportCursor; rowsDone: number; bytes: number; now: number },
): Promise<boolean> {
  const rs = await db.execute({
    sql: `UPDATE export_jobs SET parts = ?, cursor = ?, rows_done = ?, bytes = ?, updated_at = ?
           WHERE id = ? AND status = 'running' AND json_array_length(parts) = ?`,
    args: [JSON.stringify(step.parts), JSON.stringify(step.cursor), step.rowsDone, step.bytes, step.now, id, partsBefore],
  });
  return rs.rowsAffected === 1;
}

/** Marks a running job done with its final counts. */
export async function finishExportJob(db: Db, id: string, done: { rowsDone: number; bytes: number; now: number }): Promise<void> {
  await db.execute({
    sql: `UPDATE export_jobs SET status = 'done', rows_done = ?, bytes = ?, cursor = NULL, updated_at = ?, finished_at = ? WHERE id = ? AND status = 'running'`,
    args: [done.rowsDone, done.bytes, done.now, done.now, id],
  });
}

/** Marks an unfinished job failed, with words saying why. */
export async function failExportJob(db: Db, id: string, error: string, now: number): Promise<void> {
  await db.execute({
    sql: `UPDATE export_jobs SET status = 'failed', error = ?, updated_at = ?, finished_at = ? WHERE id = ? AND status IN ('queued', 'running')`,
    args: [error.slice(0, 500), now, now, id],
  });
}
