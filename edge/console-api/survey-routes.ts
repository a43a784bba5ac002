// GET /api/surveys and GET /api/surveys/{id} (PROTOCOL.md §4): the surveys a person may see, and one with its per-connection summaries.
import { Hono } from 'hono';
import * as z from 'zod';
import { SurveyIdSchema, SurveyListQuerySchema, surveyListStatement, surveyPageFrom } from '../../shared/db/survey-list.js';
import { describeZodError } from '../../shared/protocol/errors.js';
import type { EdgeEnv } from '../env.js';
import { HttpError } from '../errors.js';
import { readAsViewer, requireViewer } from '../auth/viewer.js';
import { surveysGranted, visibleSurveyFrom, visibleSurveyStatement } from './survey-access.js';
import { detailSketchPage, surveyDetailFrom, surveyDetailStatements } from './survey-detail.js';
import { continueSketchPages, sketchPageFull } from '../../shared/db/survey-sketches.js';
import { withDb } from '../db.js';
import { SeriesQuerySchema, seriesFrom, seriesStatement } from '../../shared/db/survey-series.js';

/** `GET /api/surveys/{id}`: `deleted=true|all` also finds a deleted survey (to look at it before restoring). */
const DetailQuerySchema = z.object({ deleted: z.enum(['false', 'true', 'all']).default('false') });

/**
 * Routes under /api/surveys for the list and one survey. `/:id` matches one
 * path segment and passes `export` on, so the other survey routes mounted on
 * the same prefix (`/export`, `/:id/metrics`, ...) are reached.
 */
export function surveyRoutes(): Hono<EdgeEnv> {
  const app = new Hono<EdgeEnv>();

  app.get('/', async (c) => {
    const parsed = SurveyListQuerySchema.safeParse(c.req.query());
    if (!parsed.success) {
      // Who is asking is still said first (401 before 400); only a bad query pays this extra round trip.
      await requireViewer(c);
      throw new HttpError('invalid_request', describeZodError(parsed.error));
    }
    // The viewer and the page in one round trip: the page's access condition reads the session's grants itself.
    const { results } = await readAsViewer(c, (grants) => [surveyListStatement(surveysGranted(grants), parsed.data)]);
    c.header('cache-control', 'private, no-store');
    return c.json(surveyPageFrom(results[0]!, parsed.data));
  });

  app.get('/:id', async (c, next) => {
    // `/export` (streamed metric rows of many surveys) belongs to the export routes on this prefix.
    if (c.req.param('id') === 'export') return next();
    const id = SurveyIdSchema.safeParse(c.req.param('id'));
    const query = DetailQuerySchema.safeParse(c.req.query());
    if (!id.success || !query.success) {
      await requireViewer(c); // who is asking is said first (401 before 404/400)
      if (!id.success) throw new HttpError('not_found', 'no such survey (survey ids are at most 128 characters)');
      throw new HttpError('invalid_request', describeZodError(query.error!));
    }
    // The viewer, the access check and every part of the detail in one round trip; a survey of 1,000 or more
    // measured seconds with sketches (both directions of all connections) costs one more per further page of 1,000
    // (at exactly 1,000, one read that comes back empty).
    const includeDeleted = query.data.deleted !== 'false';
    const { results } = await readAsViewer(c, (grants) => surveyDetailStatements(grants, id.data, includeDeleted));
    const first = detailSketchPage(results);
    const more = sketchPageFull(first) ? await withDb(c.get('config'), (db) => continueSketchPages(db, id.data, first)) : [];
    c.header('cache-control', 'private, no-store');
    return c.json(surveyDetailFrom(results, id.data, more));
  });

  // Chart series, downsampled in the database to ≤ `points` buckets per connection and direction; from/to zoom.
  app.get('/:id/series', async (c) => {
    const id = SurveyIdSchema.safeParse(c.req.param('id'));
    const parsed = SeriesQuerySchema.safeParse(c.req.query());
    if (!id.success || !parsed.success) {
      await requireViewer(c); // who is asking is said first (401 before 400/404)
      if (!id.success) throw new HttpError('not_found', 'no such survey (survey ids are at most 128 characters)');
      throw new HttpError('invalid_request', describeZodError(parsed.error!));
    }
    const q = parsed.data;
    if (q.from !== undefined && q.to !== undefined && q.from > q.to) throw new HttpError('invalid_request', 'from must not be after to');
    // The access check and the buckets in one round trip; the buckets are dropped unread when the survey is not the viewer's.
    const { results } = await readAsViewer(c, (grants) => [visibleSurveyStatement(grants, id.data), seriesStatement(id.data, q)]);
    visibleSurveyFrom(results[0], id.data, q.deleted !== 'false');
    c.header('cache-control', 'private, no-store');
    return c.json(seriesFrom(results[1]!, q));
  });

  return app;
}
