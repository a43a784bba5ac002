import type { Env, Hono } from 'hono';
import type { Readiness } from './readiness.js';

/**
 * Adds `GET /health` (the process answers: `{"ok":true}`) and `GET /ready` (it can take peers: 200
 * `{"ready":true}`, else 503 with the reason) to a relay server. No auth: they reveal nothing.
 */
export function addHealthRoutes<E extends Env>(app: Hono<E>, ready: () => Promise<Readiness>): void {
  app.get('/health', (c) => c.json({ ok: true }));
  app.get('/ready', async (c) => {
    const r = await ready();
    return c.json(r, r.ready ? 200 : 503);
  });
}
