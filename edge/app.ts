import { Hono } from 'hono';
import { SignalingIceRequestSchema, SignalingStartRequestSchema } from '../shared/protocol/signaling.js';
import { assetOrNotFound } from './assets.js';
import { readJsonBody } from './body.js';
import { configFor } from './config.js';
import type { EdgeEnv } from './env.js';
import { authRoutes } from './auth/auth-routes.js';
import { oidcRoutes } from './auth/oidc-routes.js';
import { keyRoutes } from './console-api/key-routes.js';
import { userRoutes } from './console-api/user-routes.js';
import { liveRoutes } from './console-api/live-routes.js';
import { surveyExportRoutes } from './console-api/survey-export-routes.js';
import { exportJobRoutes } from './exports/export-job-routes.js';
import { surveyRoutes } from './console-api/survey-routes.js';
import { recordingRoutes } from './recordings/recording-routes.js';
import { captureRoutes } from './recordings/capture-routes.js';
import { captureIntake } from './recordings/capture-intake.js';
import { withDb } from './db.js';
import { onError } from './errors.js';
import { iceServersRoute } from './ice-servers.js';
import { placeholderPage } from './placeholder-page.js';
import { consolePage } from './console-page.js';
import { clientAddress } from './rate-limit.js';
import { refuseForeignHosts, refuseForeignOrigins, requireJsonBodies, securityHeaders } from './security.js';
import { requestFamily, type ClientPlace } from './relay-choice.js';
import { startSignaling, trickleCandidate } from './signaling.js';
import { viewerInWriteBatch } from './auth/viewer.js';

export type { EdgeBindings } from './env.js';

/** The edge worker: page, health and signaling (PROTOCOL.md §1); accounts, keys and users (§4). */
export function createApp(): Hono<EdgeEnv> {
  const app = new Hono<EdgeEnv>();
  app.onError(onError);
  app.notFound(assetOrNotFound);
  // Outermost, so that errors and assets get the headers too.
  app.use('*', securityHeaders);

  // Validated once per isolate; a bad variable fails every route, /health included, with its name.
  app.use('*', async (c, next) => {
    c.set('config', configFor(c.env ?? {}));
    await next();
  });
  app.use('*', refuseForeignHosts, refuseForeignOrigins, requireJsonBodies);

  app.get('/health', (c) => c.json({ ok: true }));

  app.get('/', async (c) => {
    // Normally the assets layer answers `/` before the worker runs; this covers a worker-first setup.
    const assets = c.env?.ASSETS;
    if (assets) {
      const page = await assets.fetch(c.req.raw);
      if (page.ok) return page;
    }
    return c.html(placeholderPage(new URL(c.req.url).origin, c.req.query('key'), c.get('config').demoKey));
  });

  app.get('/console', consolePage);
  app.get('/console/*', consolePage);

  app.post('/api/signaling/start', async (c) => {
    const config = c.get('config');
    const body = await readJsonBody(c.req.raw, SignalingStartRequestSchema, config.maxBodyBytes);
    const viewer = await viewerInWriteBatch(c);
    const answer = await withDb(config, async (db) =>
      startSignaling(
        {
          config,
          db,
          address: clientAddress(c.req.raw, config),
          place: (c.req.raw as { cf?: ClientPlace }).cf,
          family: requestFamily(c.req.raw, config),
          authorization: c.req.header('authorization'),
          viewer,
          background: (work) => c.executionCtx.waitUntil(work),
        },
        body,
      ),
    );
    return c.json(answer);
  });

  app.get('/api/ice-servers', iceServersRoute);

  app.route('/api/auth', authRoutes());
  app.route('/api/auth', oidcRoutes());
  app.route('/api/keys', keyRoutes());
  app.route('/api/users', userRoutes());
  app.route('/api/live', liveRoutes());
  app.route('/api/recordings', recordingRoutes());
  // Export jobs, export, removal and captures before the list and detail, so `/export…` and `/{id}/...` are never read as a survey id.
  app.route('/api/surveys/export-jobs', exportJobRoutes());
  app.route('/api/surveys', surveyExportRoutes());
  app.route('/api/surveys', captureRoutes());
  app.route('/api/surveys', surveyRoutes());
  app.put('/internal/captures/:survey/:conn/:peer', captureIntake);

  app.post('/api/signaling/ice', async (c) => {
    const config = c.get('config');
    const body = await readJsonBody(c.req.raw, SignalingIceRequestSchema, config.maxBodyBytes);
    await trickleCandidate(config, body);
    return c.body(null, 204);
  });

  return app;
}
