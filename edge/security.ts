// The edge's public-surface guards: security headers on every response, the Host a local edge answers,
// and the checks a state-changing request passes before any route sees it (Origin, JSON content type).
import type { MiddlewareHandler } from 'hono';
import { discardBody, requireJsonContentType } from './body.js';
import { configFor } from './config.js';
import { HttpError } from './errors.js';
import { isLoopbackHost } from '../shared/loopback-host.js';

/**
 * Headers every response carries, the page's above all: no framing, no
 * foreign scripts or styles, no inline code (the page is `/app.js` and
 * `/app.css`), no referrer (page URLs may hold a magic key).
 */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy': "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'; form-action 'self'; img-src 'self' data:",
  'Referrer-Policy': 'no-referrer',
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
};

/** Sent on https responses only: a browser that once reached the edge over TLS never falls back to plain http (a year; no subdomains, which may not be ours). */
export const HSTS = 'max-age=31536000';

/** API answers carry keys, sessions and survey data: no cache keeps them unless a route says otherwise. */
const API_CACHE_CONTROL = 'no-store';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Adds SECURITY_HEADERS to every response, errors and static assets included
 * (wrangler.toml runs the worker before the assets layer for this); HSTS to
 * those answering an https request; `Cache-Control: no-store` to API answers
 * whose route set no caching of its own.
 */
export const securityHeaders: MiddlewareHandler = async (c, next) => {
  await next();
  // Responses of the assets binding have immutable headers; assigning c.res gives a mutable copy.
  c.res = new Response(c.res.body, c.res);
  const headers = c.res.headers;
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) headers.set(name, value);
  const url = new URL(c.req.url);
  if (url.protocol === 'https:') headers.set('Strict-Transport-Security', HSTS);
  if (isApiPath(url.pathname) && !headers.has('cache-control')) headers.set('Cache-Control', API_CACHE_CONTROL);
};

/** The API (`/api/…`) and the relays' hand-offs (`/internal/…`), as opposed to the page and its assets. */
function isApiPath(path: string): boolean {
  return path.startsWith('/api/') || path.startsWith('/internal/');
}

/**
 * In local mode, refuses (403 `forbidden`) any request whose Host is not
 * loopback, reads included: a page whose own name was rebound to 127.0.0.1
 * (DNS rebinding) is same-origin with itself, so only the name tells it apart.
 */
export const refuseForeignHosts: MiddlewareHandler = async (c, next) => {
  if (configFor(c.env ?? {}).mode === 'local') {
    const named = [c.req.header('host'), new URL(c.req.url).host].filter((h) => h !== undefined);
    if (!named.every(isLoopbackHost)) {
      await discardBody(c.req.raw);
      throw new HttpError('forbidden', 'Host: a local edge answers only 127.0.0.1, localhost or [::1] (another name may be a DNS-rebinding page)');
    }
  }
  await next();
};

/**
 * Whether a request was made by a page of another origin: an `Origin` that is
 * neither the edge's own nor listed in ALLOWED_ORIGINS, or, without one,
 * `Sec-Fetch-Site: cross-site`. Clients that send neither (curl, the
 * headless client) are not foreign.
 */
export function isForeignRequest(req: Request, allowedOrigins: readonly string[]): boolean {
  const origin = req.headers.get('origin');
  if (origin !== null) return origin !== new URL(req.url).origin && !allowedOrigins.includes(origin);
  return req.headers.get('sec-fetch-site')?.toLowerCase() === 'cross-site';
}

/** Refuses a state-changing request from a foreign page with 403 `forbidden` before any route runs. */
export const refuseForeignOrigins: MiddlewareHandler = async (c, next) => {
  if (!SAFE_METHODS.has(c.req.method)) {
    const allowed = configFor(c.env ?? {}).allowedOrigins ?? [];
    if (isForeignRequest(c.req.raw, allowed)) {
      await discardBody(c.req.raw);
      throw new HttpError('forbidden', 'Origin: requests that change state must come from this site');
    }
  }
  await next();
};

/**
 * Refuses a state-changing request that carries a body not declared as JSON
 * with 415 `unsupported_media_type`; every body the API takes is JSON. A
 * route reading JSON checks again (readJsonBody), so a missing body is judged there.
 */
export const requireJsonBodies: MiddlewareHandler = async (c, next) => {
  if (!SAFE_METHODS.has(c.req.method) && hasBody(c.req.raw) && !takesBinaryBody(c.req.method, c.req.path)) await requireJsonContentType(c.req.raw);
  await next();
};

/**
 * The routes whose bodies are bytes, not JSON: recording chunks (PUT, which a
 * foreign page cannot send without a CORS preflight the edge never grants)
 * and relays' capture hand-offs (signed tokens, no browser involved).
 */
export function takesBinaryBody(method: string, path: string): boolean {
  return (method === 'PUT' && /^\/api\/recordings\/[^/]+\/chunks\/[^/]+$/.test(path)) || (method === 'PUT' && /^\/internal\/captures\//.test(path));
}

function hasBody(req: Request): boolean {
  const length = req.headers.get('content-length');
  return req.body !== null && (length === null || Number(length) > 0);
}
