// Exports too large to stream in one request (GET /api/surveys/export answers 413 past EXPORT_INLINE_MAX_ROWS):
// asked for here, written to the object store in the background by the EXPORT_QUEUE consumer, and downloaded when done.
import { Hono, type Context } from 'hono';
import { findExportJob, insertExportJob, failExportJob, type ExportJob } from '../../shared/db/export-jobs.js';
import { uuid } from '../../shared/ids.js';
import { requireViewer, type Viewer } from '../auth/viewer.js';
import { readJsonBody } from '../body.js';
import { FORMATS } from '../console-api/metric-formats.js';
import { checkExportKey, downloadHeaders, exportFileName, ExportQuerySchema } from '../console-api/survey-export-routes.js';
import { withDb } from '../db.js';
import type { EdgeEnv } from '../env.js';
import { HttpError } from '../errors.js';
import { objectStore } from '../recordings/object-store.js';
import { exportQueueOf } from './export-queue.js';

/** A job as GET /api/surveys/export-jobs/{id} shows it. */
export interface ExportJobView {
  job_id: string;
  status: ExportJob['status'];
  format: ExportJob['format'];
  rows_done: number;
  /** Counted when the job started (rows added later are exported too); null until then. */
  total_rows: number | null;
  bytes: number;
  created_at: number;
  finished_at: number | null;
  error: string | null;
  /** Where the file is, once done. */
  download: string | null;
}

const contentPath = (id: string) => `/api/surveys/export-jobs/${encodeURIComponent(id)}/content`;

function jobView(j: ExportJob): ExportJobView {
  return {
    job_id: j.id,
    status: j.status,
    format: j.format,
    rows_done: j.rows_done,
    total_rows: j.total_rows,
    bytes: j.bytes,
    created_at: j.created_at,
    finished_at: j.finished_at,
    error: j.error,
    download: j.status === 'done' ? contentPath(j.id) : null,
  };
}

/** The job if the viewer asked for it (or is an admin); otherwise 404, as for no job at all. */
async function findOwnJob(c: Context<EdgeEnv>, v: Viewer, id: string): Promise<ExportJob> {
  const job = await withDb(c.get('config'), (db) => findExportJob(db, id));
  if (!job || (job.requested_by !== v.login && v.role !== 'admin')) throw new HttpError('not_found', `no export job ${id}`);
  return job;
}

/** Routes under /api/surveys/export-jobs (mounted before the survey routes, so the path is never read as a survey id). */
export function exportJobRoutes(): Hono<EdgeEnv> {
  const app = new Hono<EdgeEnv>();

  // The same filter and reach as GET /api/surveys/export; the requester's grants at this moment go with the job.
  app.post('/', async (c) => {
    const v = await requireViewer(c);
    const config = c.get('config');
    const q = await readJsonBody(c.req.raw, ExportQuerySchema, config.maxBodyBytes);
    objectStore(c);
    const queue = exportQueueOf(c.env);
    const id = uuid();
    await withDb(config, async (db) => {
      await checkExportKey(db, v, q.key_id);
      await insertExportJob(db, {
        id,
        requestedBy: v.login,
        filter: { key_id: q.key_id, from: q.from, to: q.to, user: q.user, deleted: q.deleted, keys: v.role === 'admin' ? null : v.keys },
        format: q.format,
        storageKey: `exports/${id}.${q.format}`,
        now: Date.now(),
      });
      try {
        await queue.send({ job_id: id, part: 1 });
      } catch (e) {
        await failExportJob(db, id, 'the export queue did not take the job', Date.now());
        throw e;
      }
    });
    console.log(`edge: export job ${id} (${q.format}) asked for by ${v.login}`);
    return c.json({ job_id: id, status: 'queued' }, 202);
  });

  app.get('/:id', async (c) => {
    const v = await requireViewer(c);
    return c.json(jobView(await findOwnJob(c, v, c.req.param('id'))));
  });

  // The finished file, as the streamed export would have sent it.
  app.get('/:id/content', async (c) => {
    const v = await requireViewer(c);
    const job = await findOwnJob(c, v, c.req.param('id'));
    if (job.status === 'failed') throw new HttpError('conflict', `this export failed: ${job.error ?? 'unknown reason'}`);
    if (job.status !== 'done') throw new HttpError('conflict', `this export is not finished yet (${job.rows_done} rows written so far)`);
    const file = await objectStore(c).get(job.storage_key);
    if (!file) throw new HttpError('not_found', 'the export file is no longer stored');
    const stamp = new Date(job.created_at).toISOString().slice(0, 19).replace(/:/g, '');
    return new Response(file.body, {
      headers: { ...downloadHeaders(FORMATS[job.format], exportFileName(job.filter.key_id, job.format, stamp)), 'content-length': String(file.size) },
    });
  });

  return app;
}
