import type { Context } from 'hono';
import type { EdgeBindings } from './app.js';
import { notFound } from './errors.js';

/**
 * The not-found handler: wrangler.toml runs the worker before the assets layer
 * (so every response gets the security headers), which leaves serving the
 * page's files to the worker. A GET or HEAD no route took is looked up in the
 * assets; API paths, other methods and missing files get the PROTOCOL 404.
 */
export async function assetOrNotFound(c: Context): Promise<Response> {
  const assets = (c.env as EdgeBindings | undefined)?.ASSETS;
  if (assets && (c.req.method === 'GET' || c.req.method === 'HEAD') && !c.req.path.startsWith('/api/')) {
    const res = await assets.fetch(c.req.raw);
    if (res.status !== 404) return res;
    await res.body?.cancel();
  }
  return notFound(c);
}
