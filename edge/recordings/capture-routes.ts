// `GET /api/surveys/{id}/captures/{conn_id}` (PROTOCOL.md §4): a connection's pcapng from the object store, for those who may see the survey.
import { Hono } from 'hono';
import { storedCaptures } from '../../shared/db/capture-store.js';
import { withDb } from '../db.js';
import type { EdgeEnv } from '../env.js';
import { HttpError } from '../errors.js';
import { requireViewer } from '../auth/viewer.js';
import { findVisibleSurvey } from '../console-api/survey-access.js';
import { objectStore } from './object-store.js';

/** Routes under /api/surveys for captures. */
export function captureRoutes(): Hono<EdgeEnv> {
  const app = new Hono<EdgeEnv>();
  app.get('/:id/captures/:conn_id', async (c) => {
    const viewer = await requireViewer(c);
    const { id, conn_id: connId } = c.req.param();
    const peer = c.req.query('peer_id');
    const capture = await withDb(c.get('config'), async (db) => {
      await findVisibleSurvey(db, viewer, id);
      const all = await storedCaptures(db, id, connId);
      return peer ? all.find((x) => x.peer_id === peer) : all[0];
    });
    if (!capture) throw new HttpError('not_found', `no stored capture for connection ${connId} of this survey (a relay hands it over when the survey stops; try again shortly)`);
    const obj = await objectStore(c).get(capture.storage_key);
    if (!obj) throw new HttpError('not_found', 'the capture is missing from storage');
    return new Response(obj.body, {
      headers: {
        'content-type': 'application/x-pcapng',
        'content-length': String(obj.size),
        'content-disposition': `attachment; filename="netpoke-${id}-${connId}.pcapng"`,
        'cache-control': 'private, no-store',
      },
    });
  });
  return app;
}
