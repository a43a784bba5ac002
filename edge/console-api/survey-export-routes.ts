// Survey metrics out (one survey as JSON or CSV, many as CSV or NDJSON) and surveys away (soft delete, restore,
// admin purge), PROTOCOL.md §4. Exports stream page by page from the database: workerd holds 128 MB, a key's rows may be millions.
import { Hono, type Context } from 'hono';
import * as z from 'zod';
import { csvLine } from '../../shared/csv.js';
import type { Db } from '../../shared/db/client.js';
import { findMagicKeyById } from '../../shared/db/keys.js';
import { PATH_TRACE_CSV_COLUMNS, pathTraceCsvRows, surveyPathTraces } from '../../shared/db/path-traces.js';
import { countExportRows, exportMetricPages, metricPagesOf, type MetricValues, type SurveySelection } from '../../shared/db/metric-export.js';
import { FORMATS, type RowFormat } from './metric-formats.js';
import { purgeSurveyRows, restoreSurvey, softDeleteSurvey, surveyFilesFrom, surveyFilesStatements } from '../../shared/db/survey-removal.js';
import { KeyIdSchema } from '../../shared/protocol/accounts.js';
import { describeZodError } from '../../shared/protocol/errors.js';
import { adminOnly, mayUseKey, readAsViewer, requireViewer, type Viewer } from '../auth/viewer.js';
import { openDb, withDb } from '../db.js';
import type { EdgeEnv } from '../env.js';
import { HttpError } from '../errors.js';
import { removeRecordingUploads } from '../recordings/upload-removal.js';
import { deleteObjects, objectStore } from '../recordings/object-store.js';
import { findVisibleSurvey, visibleSurveyFrom, visibleSurveys, visibleSurveyStatement } from './survey-access.js';

/** An empty query value is the same as none (forms send `from=`). */
const optional = <T extends z.ZodType>(schema: T) => z.preprocess((v) => (v === '' ? undefined : v), schema.optional());
const TimeMs = z.coerce.number().finite().nonnegative();
const Text = z.string().max(200);
const DeletedSchema = z.enum(['false', 'true', 'all']).default('false');

/** The filter of an export, streamed (GET /export's query) or as a background job (POST /export-jobs's body). */
export const ExportQuerySchema = z.object({
  key_id: optional(KeyIdSchema),
  from: optional(TimeMs),
  to: optional(TimeMs),
  user: optional(Text),
  format: z.enum(['csv', 'ndjson']).default('csv'),
  deleted: DeletedSchema,
});

const PathTracesQuerySchema = z.object({ format: z.enum(['json', 'csv']).default('json'), deleted: DeletedSchema });

const MetricsQuerySchema = z.object({
  format: z.enum(['json', 'csv']).default('json'),
  source: optional(Text),
  direction: optional(Text),
  conn_id: optional(Text),
  deleted: DeletedSchema,
});

const DeleteQuerySchema = z.object({ purge: z.enum(['true', 'false']).default('false') });

/** Parses a request's query with `schema`, or 400 invalid_request naming the parameter. */
function parseQuery<T extends z.ZodType>(c: Context<EdgeEnv>, schema: T): z.output<T> {
  const parsed = schema.safeParse(c.req.query());
  if (!parsed.success) throw new HttpError('invalid_request', describeZodError(parsed.error));
  return parsed.data;
}

/**
 * A response body that reads the next page only when the client has taken
 * the last one, so memory holds a page or two whatever the total. The first
 * page is read before answering: a failing database is still a proper error
 * status, not a cut-off 200. The request's database client closes with the stream.
 */
async function streamRows(db: Db, pages: AsyncGenerator<MetricValues[]>, format: RowFormat): Promise<ReadableStream<Uint8Array>> {
  const encoder = new TextEncoder();
  let first: IteratorResult<MetricValues[]>;
  try {
    first = await pages.next();
  } catch (e) {
    db.close();
    throw e;
  }
  let pending: string | null = format.head + (first.done ? '' : format.page(first.value, true));
  let done = Boolean(first.done);
  return new ReadableStream<Uint8Array>({
    async pull(ctl) {
      try {
        let text = pending ?? '';
        pending = null;
        if (!done) {
          const next = await pages.next();
          if (next.done) done = true;
          else text += format.page(next.value, false);
        }
        if (done) text += format.tail;
        if (text) ctl.enqueue(encoder.encode(text));
        if (done) {
          ctl.close();
          db.close();
        }
      } catch (e) {
        db.close();
        ctl.error(e);
      }
    },
    async cancel() {
      await pages.return(undefined);
      db.close();
    },
  });
}

/** A file name part made of safe characters only. */
const fileSafe = (s: string) => s.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 80);

/** An export's download name, e.g. netpoke-metrics-all-2026-01-02T030405.csv. */
export const exportFileName = (keyId: string | undefined, format: string, stamp: string) => `netpoke-metrics-${keyId ?? 'all'}-${stamp}.${format}`;

/** Which surveys an export of `q` covers for a viewer (or, for a job, the requester's reach when they asked). */
export function exportSelection(v: Pick<Viewer, 'role' | 'keys'>, q: Pick<z.output<typeof ExportQuerySchema>, 'key_id' | 'from' | 'to' | 'user' | 'deleted'>): SurveySelection {
  return { access: visibleSurveys(v), keyId: q.key_id, from: q.from, to: q.to, user: q.user, deleted: q.deleted };
}

/** 404 unless the viewer may use the key an export names (and it exists), the same answer either way. */
export async function checkExportKey(db: Db, v: Viewer, keyId: string | undefined): Promise<void> {
  if (keyId !== undefined && (!mayUseKey(v, keyId) || !(await findMagicKeyById(db, keyId)))) throw new HttpError('not_found', 'no such key');
}

/** Headers of a file download that no cache keeps. */
export const downloadHeaders = (format: RowFormat, filename: string | null): Record<string, string> => ({
  'content-type': format.contentType,
  'cache-control': 'private, no-store',
  ...(filename ? { 'content-disposition': `attachment; filename="${filename}"` } : {}),
});

/** Routes under /api/surveys for export and removal (mounted before the list and detail routes). */
export function surveyExportRoutes(): Hono<EdgeEnv> {
  const app = new Hono<EdgeEnv>();

  // Every metric row of the matching surveys, each with its session_id; an analyst only ever reaches their keys' surveys.
  app.get('/export', async (c) => {
    const v = await requireViewer(c);
    const q = parseQuery(c, ExportQuerySchema);
    const config = c.get('config');
    const db = await openDb(config);
    const sel = exportSelection(v, q);
    try {
      await checkExportKey(db, v, q.key_id);
      // Counting stops one past the limit, so a huge selection costs no more to refuse than a small one to count.
      const limit = config.exports.inlineMaxRows;
      if ((await countExportRows(db, sel, limit + 1)) > limit) {
        throw new HttpError(
          'too_large',
          `this export has more than ${limit} rows, too many for one download: ask for it as a background job with POST /api/surveys/export-jobs (the same filter as a JSON body), then download it from the job when it is done`,
        );
      }
    } catch (e) {
      db.close();
      throw e;
    }
    const pages = exportMetricPages(db, sel);
    const format = FORMATS[q.format];
    const stamp = new Date().toISOString().slice(0, 19).replace(/:/g, '');
    const body = await streamRows(db, pages, format);
    return new Response(body, { headers: downloadHeaders(format, exportFileName(q.key_id, q.format, stamp)) });
  });

  // One survey's rows, time-ordered; CSV comes as a download, JSON as one array for the console's charts.
  app.get('/:id/metrics', async (c) => {
    const v = await requireViewer(c);
    const id = c.req.param('id');
    const q = parseQuery(c, MetricsQuerySchema);
    const db = await openDb(c.get('config'));
    try {
      await findVisibleSurvey(db, v, id, q.deleted !== 'false');
    } catch (e) {
      db.close();
      throw e;
    }
    const pages = metricPagesOf(db, [id], { source: q.source, direction: q.direction, connId: q.conn_id });
    const format = FORMATS[q.format];
    const body = await streamRows(db, pages, format);
    return new Response(body, { headers: downloadHeaders(format, q.format === 'csv' ? `netpoke-${fileSafe(id)}-metrics.csv` : null) });
  });

  // One survey's path traces (v3): JSON as in the detail's path_traces, or CSV a row per hop as a download.
  app.get('/:id/path-traces', async (c) => {
    const v = await requireViewer(c);
    const id = c.req.param('id');
    const q = parseQuery(c, PathTracesQuerySchema);
    const traces = await withDb(c.get('config'), async (db) => {
      await findVisibleSurvey(db, v, id, q.deleted !== 'false');
      return surveyPathTraces(db, id);
    });
    if (q.format === 'json') return c.json(traces, 200, { 'cache-control': 'private, no-store' });
    const csv = csvLine(PATH_TRACE_CSV_COLUMNS) + pathTraceCsvRows(traces).map(csvLine).join('');
    return new Response(csv, { headers: { 'content-type': 'text/csv; charset=utf-8', 'cache-control': 'private, no-store', 'content-disposition': `attachment; filename="netpoke-${fileSafe(id)}-path-traces.csv"` } });
  });

  // Soft delete (the survey's key's analysts and admins), or with purge=true the admin's removal for good.
  app.delete('/:id', async (c) => {
    const id = c.req.param('id');
    const { purge } = parseQuery(c, DeleteQuerySchema);
    if (purge === 'true') return purgeSurvey(c, id);
    const v = await requireViewer(c);
    await withDb(c.get('config'), async (db) => {
      await findVisibleSurvey(db, v, id, true);
      await softDeleteSurvey(db, id, v.login);
    });
    console.log(`edge: survey ${id} deleted by ${v.login}`);
    return c.body(null, 204);
  });

  app.post('/:id/restore', async (c) => {
    const v = await requireViewer(c);
    const id = c.req.param('id');
    await withDb(c.get('config'), async (db) => {
      await findVisibleSurvey(db, v, id, true);
      await restoreSurvey(db, id, v.login);
    });
    console.log(`edge: survey ${id} restored by ${v.login}`);
    return c.body(null, 204);
  });

  return app;
}

/**
 * Removes a survey for good: its files in the object store first (a failure
 * there leaves the rows, so the purge can be retried), then its rows and an
 * audit line in one transaction. Captures a relay has not handed over yet are
 * on that relay's disk, out of the edge's reach: the audit line names them.
 */
async function purgeSurvey(c: Context<EdgeEnv>, id: string): Promise<Response> {
  const config = c.get('config');
  // The viewer, the survey and its files in one round trip; the rows go in a second, as the object store's deletes come between.
  const { viewer, results } = await readAsViewer(c, (grants) => [visibleSurveyStatement(grants, id), ...surveyFilesStatements(id)]);
  const admin = adminOnly(viewer);
  visibleSurveyFrom(results[0], id, true);
  const files = surveyFilesFrom(results.slice(1));
  if (files.objectKeys.length > 0 || files.uploads.length > 0) {
    const store = objectStore(c);
    files.chunkObjects = await removeRecordingUploads(store, files.uploads);
    await deleteObjects(store, files.objectKeys);
  }
  const counts = await withDb(config, (db) => purgeSurveyRows(db, id, admin.login, files));
  const left = files.relayCaptures.length ? `; ${files.relayCaptures.length} capture(s) still on a relay's disk were not reached` : '';
  console.log(`edge: survey ${id} purged by ${admin.login}: ${counts.metric_rows} metric rows, ${counts.recordings} recordings, ${files.objectKeys.length + files.chunkObjects} stored objects${left}`);
  return c.body(null, 204);
}
