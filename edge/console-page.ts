// The console's one HTML page for every /console path; the page itself routes on the path (page/console/main.ts).
import type { Context } from 'hono';
import type { EdgeEnv } from './env.js';
import { HttpError } from './errors.js';

/**
 * The assets path that serves console.html: wrangler's html_handling answers
 * `/console.html` with a redirect to `/console` and serves the file at `/console`.
 */
const CONSOLE_ASSET = '/console';

/** Answers GET (and HEAD) of `/console` and `/console/*` with the console page from the ASSETS binding; 404 in words when the page is not built. */
export async function consolePage(c: Context<EdgeEnv>): Promise<Response> {
  const assets = c.env?.ASSETS;
  if (assets) {
    const res = await assets.fetch(new Request(new URL(CONSOLE_ASSET, c.req.url), { method: c.req.method === 'HEAD' ? 'HEAD' : 'GET' }));
    if (res.ok) return res;
    await res.body?.cancel();
  }
  throw new HttpError('not_found', 'the console is not built yet: run `npm run build:page` (or `npm start`), then reload');
}
