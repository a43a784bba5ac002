import { serve, type ServerType } from '@hono/node-server';
import { Hono } from 'hono';
import { errorBody } from '../shared/protocol/errors.js';
import { addHealthRoutes } from './health-routes.js';
import type { Scrape } from './metrics.js';
import type { Readiness } from './readiness.js';

export interface OpsServer {
  /** Base URL the server listens on. */
  url: string;
  close(): Promise<void>;
}

/**
 * Serves `GET /metrics`, `/health` and `/ready` without auth on an address of its own
 * (RELAY_METRICS_HOST, loopback by default): for a scraper or health checker on the relay's host
 * or a private network, apart from the internal API the edge calls.
 */
export async function startOpsServer(opts: { host: string; port: number; scrape: () => Promise<Scrape>; ready: () => Promise<Readiness> }): Promise<OpsServer> {
  const app = new Hono();
  addHealthRoutes(app, opts.ready);
  app.get('/metrics', async (c) => {
    const m = await opts.scrape();
    return c.body(m.body, 200, { 'content-type': m.contentType });
  });
  app.notFound((c) => c.json(errorBody('not_found', `no route ${c.req.method} ${c.req.path}`), 404));
  app.onError((_err, c) => c.json(errorBody('internal_error', 'the metrics could not be collected'), 500));
  let server!: ServerType;
  const port = await new Promise<number>((resolve, reject) => {
    server = serve({ fetch: app.fetch, hostname: opts.host, port: opts.port }, (info) => resolve(info.port));
    server.once('error', reject);
  });
  return {
    url: `http://${opts.host.includes(':') ? `[${opts.host}]` : opts.host}:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
