// One step of a background export: the next PART_BYTES of the file, read from the job row's cursor, encoded
// with the streamed export's encoder and uploaded as one R2 multipart part; the last step completes the file.
// A step does bounded work whatever the export's size: one part's rows (~15,000 of ~350 bytes) and one upload.
import type { Db } from '../../shared/db/client.js';
import {
  failExportJob,
  findExportJob,
  finishExportJob,
  recordExportPart,
  startExportJob,
  type ExportCursor,
  type ExportJob,
} from '../../shared/db/export-jobs.js';
import { countExportRows, exportMetricPages, rowPosition, type RowPosition } from '../../shared/db/metric-export.js';
import { exportSelection } from '../console-api/survey-export-routes.js';
import { FORMATS } from '../console-api/metric-formats.js';
import { MIN_PART_BYTES as PART_BYTES } from '../recordings/assemble.js';
import type { MultipartUpload, ObjectStore } from '../recordings/object-store.js';

/** One queue message: write part `part` (1-based) of job `job_id`. */
export interface ExportMessage {
  job_id: string;
  part: number;
}

export interface ExportStepDeps {
  db: Db;
  store: ObjectStore;
  /** Queues the message for the next step. */
  send(message: ExportMessage): Promise<void>;
  now(): number;
}

/** What a step did: wrote a part and queued the next, finished the file, or found nothing to do (an old or repeated message). */
export type StepOutcome = 'continued' | 'done' | 'ignored';

const samePosition = (a: RowPosition, b: RowPosition) => a.session === b.session && a.time === b.time && a.id === b.id;

/**
 * Runs the step a message asks for; `attempt` is the message's delivery
 * count. Throws on a failure worth retrying. A retry of a step whose part was
 * recorded but whose next message was never queued queues it again: only a
 * retry may, so a message delivered twice does not start a second chain.
 */
export async function runExportStep(deps: ExportStepDeps, message: ExportMessage, attempt = 1): Promise<StepOutcome> {
  const { db, store } = deps;
  const job = await findExportJob(db, message.job_id);
  if (!job || job.status === 'done' || job.status === 'failed') return 'ignored';
  if (job.parts.length === message.part && attempt > 1) {
    await deps.send({ job_id: job.id, part: message.part + 1 });
    return 'continued';
  }
  if (job.parts.length !== message.part - 1) return 'ignored';
  const format = FORMATS[job.format];
  let upload: MultipartUpload;
  if (job.status === 'queued') {
    // The estimate shown as progress: one full count, once per job.
    const total = await countExportRows(db, selectionOf(job));
    upload = await store.createMultipartUpload(job.storage_key, { httpMetadata: { contentType: format.contentType } });
    if (!(await startExportJob(db, job.id, upload.uploadId, total, deps.now()))) {
      await upload.abort();
      return 'ignored';
    }
  } else {
    if (!job.upload_id) throw new Error(`export job ${job.id} is running without an upload`);
    upload = store.resumeMultipartUpload(job.storage_key, job.upload_id);
  }

  const filled = await fillPart(db, job);
  if (filled.full) {
    const part = await upload.uploadPart(message.part, filled.bytes);
    const parts = [...job.parts, { partNumber: part.partNumber, etag: part.etag }];
    const recorded = await recordExportPart(db, job.id, job.parts.length, {
      parts,
      cursor: filled.cursor,
      rowsDone: job.rows_done + filled.rows,
      bytes: job.bytes + filled.bytes.byteLength,
      now: deps.now(),
    });
    if (!recorded) return 'ignored';
    await deps.send({ job_id: job.id, part: message.part + 1 });
    return 'continued';
  }

  const done = { rowsDone: job.rows_done + filled.rows, bytes: job.bytes + filled.bytes.byteLength, now: deps.now() };
  // A retry after the file was completed but the job row not told (a completed upload takes no more parts).
  const stored = attempt > 1 ? await store.head(job.storage_key) : null;
  if (stored?.size !== done.bytes) await completeFile(store, upload, job, message.part, filled.bytes);
  await finishExportJob(db, job.id, done);
  return 'done';
}

/** Uploads the last part (if any bytes are left) and completes the file. */
async function completeFile(store: ObjectStore, upload: MultipartUpload, job: ExportJob, partNumber: number, last: Uint8Array): Promise<void> {
  const parts = [...job.parts];
  if (last.byteLength > 0) {
    const part = await upload.uploadPart(partNumber, last);
    parts.push({ partNumber: part.partNumber, etag: part.etag });
  }
  if (parts.length > 0) await upload.complete(parts);
  else {
    // Nothing at all to write (NDJSON of no rows): a multipart upload needs a part, a plain put does not.
    await upload.abort();
    await store.put(job.storage_key, new Uint8Array(0), { httpMetadata: { contentType: FORMATS[job.format].contentType } });
  }
}

/** Gives up on a job for good: marks it failed and frees the parts uploaded so far. */
export async function abandonExportJob(deps: Pick<ExportStepDeps, 'db' | 'store' | 'now'>, jobId: string, reason: string): Promise<void> {
  const job = await findExportJob(deps.db, jobId);
  if (!job || job.status === 'done' || job.status === 'failed') return;
  await failExportJob(deps.db, jobId, reason, deps.now());
  if (job.upload_id) await deps.store.resumeMultipartUpload(job.storage_key, job.upload_id).abort().catch(() => undefined);
}

/** The job's survey selection, under the requester's reach when they asked. */
function selectionOf(job: ExportJob) {
  const f = job.filter;
  return exportSelection({ role: f.keys === null ? 'admin' : 'analyst', keys: f.keys ?? [] }, f);
}

interface FilledPart {
  /** Exactly PART_BYTES when `full`; otherwise the rest of the file (the last part), possibly empty. */
  bytes: Uint8Array;
  full: boolean;
  /** Rows whose bytes all arrived in this part (a row cut by the part's end counts in the next). */
  rows: number;
  cursor: ExportCursor;
}

/**
 * The job's next part: its text from the cursor on, until PART_BYTES are
 * filled or the rows run out. A row cut at the part's end is read again by
 * the next step, which drops the bytes already written; its position is kept
 * and checked, so a row that went away meanwhile fails the job rather than
 * splicing two rows together.
 */
async function fillPart(db: Db, job: ExportJob): Promise<FilledPart> {
  const format = FORMATS[job.format];
  const encoder = new TextEncoder();
  const buf = new Uint8Array(PART_BYTES);
  let at = 0;
  if (job.parts.length === 0) at = encoder.encodeInto(format.head, buf).written;
  let after = job.cursor.after;
  // Bytes of the first row the last part already holds (its position is job.cursor.next).
  const carried = job.cursor.skip;
  let rows = 0;
  let first = true;
  for await (const page of exportMetricPages(db, selectionOf(job), {}, undefined, after)) {
    for (const row of page) {
      let line = encoder.encode(format.page([row], false));
      const pos = rowPosition(row);
      const cut = first ? carried : 0;
      first = false;
      if (cut > 0) {
        if (!job.cursor.next || !samePosition(pos, job.cursor.next)) throw new RowsChangedError(job.cursor.next);
        line = line.subarray(cut);
      }
      const room = PART_BYTES - at;
      if (line.byteLength > room) {
        buf.set(line.subarray(0, room), at);
        return { bytes: buf, full: true, rows, cursor: { after, next: pos, skip: cut + room } };
      }
      buf.set(line, at);
      at += line.byteLength;
      rows++;
      after = pos;
      // Ending exactly on a row's end: the next step starts on the next row.
      if (at === PART_BYTES) return { bytes: buf, full: true, rows, cursor: { after, next: null, skip: 0 } };
    }
  }
  if (first && carried > 0) throw new RowsChangedError(job.cursor.next);
  const tail = encoder.encode(format.tail);
  buf.set(tail, at);
  return { bytes: buf.subarray(0, at + tail.byteLength), full: false, rows, cursor: { after, next: null, skip: 0 } };
}

/** The row a part was cut in is no longer where it was (deleted, purged or moved out of the filter): the file cannot be continued. */
export class RowsChangedError extends Error {
  constructor(row: RowPosition | null) {
    super(`the exported rows changed while the export ran (row ${row?.id ?? '?'} of survey ${row?.session ?? '?'} is gone); start the export again`);
  }
}
