// Sign-in with OpenID Connect providers (and GitHub) under /api/auth: the provider list, the start of a sign-in (or of
// linking one to the logged-in login), and the provider's callback.
import type { Context } from 'hono';
import { Hono } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import * as z from 'zod';
import { recordLoginStatement } from '../../shared/db/users.js';
import { describeZodError } from '../../shared/protocol/errors.js';
import type { OidcProvider } from '../config.js';
import { withDb } from '../db.js';
import type { EdgeEnv } from '../env.js';
import { HttpError } from '../errors.js';
import { readJsonBody } from '../body.js';
import { admitIdentity, linkIdentity } from './oidc-admission.js';
import { beginSignIn, finishSignIn } from './oidc-client.js';
import { OIDC_FLOW_TTL_MS, saveOidcFlow, takeOidcFlow } from './oidc-flows.js';
import { startLoginSession } from './session-cookie.js';
import { getViewer, requireViewer } from './viewer.js';

const CALLBACK_PATH = '/api/auth/oidc/callback';
const LOGIN_PAGE = '/console/login';
const ACCOUNT_PAGE = '/console/account';
const DEFAULT_RETURN = '/console';
/**
 * Holds the state of the sign-in this browser started. The callback must
 * bring the same one, so a callback URL made for someone else (login CSRF)
 * signs nobody in.
 */
const STATE_COOKIE = 'np_oidc_state';

/** A page of the console to land on after signing in; anything else (another site, another part of this one) lands on /console. */
export function safeReturnTo(raw: string | undefined): string {
  if (!raw || !raw.startsWith('/') || raw.startsWith('//') || raw.includes('\\')) return DEFAULT_RETURN;
  const base = 'http://edge.invalid';
  const url = URL.canParse(raw, base) ? new URL(raw, base) : null;
  if (!url || url.origin !== base || !(url.pathname === '/console' || url.pathname.startsWith('/console/'))) return DEFAULT_RETURN;
  return url.pathname + url.search + url.hash;
}

const StartQuerySchema = z.object({
  provider: z.string().regex(/^[a-z0-9-]{1,32}$/, 'must be the id of a sign-in provider'),
  return_to: z.string().max(1024).optional().catch(undefined).transform(safeReturnTo),
});

/** `POST /api/auth/oidc/link`: which provider's sign-in to link to the logged-in login. */
const LinkRequestSchema = z.object({ provider: z.string().regex(/^[a-z0-9-]{1,32}$/, 'must be the id of a sign-in provider') });

/** The provider's redirect back: the code, or the error it reports, with the state the edge sent. Other parameters (iss, scope…) are checked by oauth4webapi. */
const CallbackQuerySchema = z
  .object({
    state: z.string().min(1).max(512),
    code: z.string().min(1).max(4096).optional(),
    error: z.string().max(256).optional(),
  })
  .refine((q) => q.code !== undefined || q.error !== undefined, 'code: the provider sent neither a code nor an error');

/** Routes under /api/auth for provider sign-in. */
export function oidcRoutes(): Hono<EdgeEnv> {
  const app = new Hono<EdgeEnv>();

  // Public: the login page draws one button per provider.
  app.get('/providers', (c) => c.json(c.get('config').oidc.providers.map((p) => ({ id: p.id, name: p.name }))));

  app.get('/oidc/start', (c) =>
    refusalsToLoginPage(c, async () => {
      const config = c.get('config');
      const q = parseQuery(c, StartQuerySchema);
      const provider = findProvider(config.oidc.providers, q.provider);
      const { state, flow, url } = await beginSignIn(provider, config.mode, callbackUrl(c), q.return_to);
      await withDb(config, (db) => saveOidcFlow(db, state, flow));
      setCookie(c, STATE_COOKIE, state, { ...stateCookieOptions(c), maxAge: OIDC_FLOW_TTL_MS / 1000 });
      return redirect(c, url.href);
    }),
  );

  // A logged-in person links a provider's sign-in to their own login (the Account page). A POST, so the Origin check
  // keeps another site from starting it in their browser; the page then goes to the provider's URL it is given.
  app.post('/oidc/link', async (c) => {
    const config = c.get('config');
    const v = await requireViewer(c);
    const body = await readJsonBody(c.req.raw, LinkRequestSchema, config.maxBodyBytes);
    const provider = findProvider(config.oidc.providers, body.provider);
    const returnTo = `${ACCOUNT_PAGE}?${new URLSearchParams({ linked: provider.id })}`;
    const begun = await beginSignIn(provider, config.mode, callbackUrl(c), returnTo);
    await withDb(config, (db) => saveOidcFlow(db, begun.state, { ...begun.flow, linkLogin: v.login }));
    setCookie(c, STATE_COOKIE, begun.state, { ...stateCookieOptions(c), maxAge: OIDC_FLOW_TTL_MS / 1000 });
    c.header('cache-control', 'no-store');
    return c.json({ url: begun.url.href });
  });

  app.get('/oidc/callback', (c) =>
    refusalsToLoginPage(c, async () => {
      const config = c.get('config');
      const q = parseQuery(c, CallbackQuerySchema);
      const started = getCookie(c, STATE_COOKIE);
      deleteCookie(c, STATE_COOKIE, stateCookieOptions(c));
      if (started !== q.state) throw new HttpError('login_failed', 'this sign-in was not started in this browser; start again from the login page');
      return withDb(config, async (db) => {
        // Taken out before anything else, so a state works once whatever happens next.
        const flow = await takeOidcFlow(db, q.state);
        if (!flow) throw new HttpError('login_failed', 'this sign-in link is unknown, already used or expired; start again from the login page');
        const provider = findProvider(config.oidc.providers, flow.provider);
        const identity = await finishSignIn(provider, config.mode, new URL(c.req.url), q.state, flow, callbackUrl(c));
        if (flow.linkLogin !== undefined) {
          // Only for the person who asked, still logged in: a session ended since then links nothing.
          const v = await getViewer(c);
          if (v?.login.toLowerCase() !== flow.linkLogin.toLowerCase()) throw new HttpError('login_failed', `log in as ${flow.linkLogin} again, then link this sign-in from your Account page`);
          await linkIdentity(db, identity, v.login, provider.name);
          return redirect(c, flow.returnTo);
        }
        const user = await admitIdentity(db, identity, config.oidc.allowedDomains, provider.id);
        // Last, so no step after it can fail with the cookie already set; the login is recorded in the same batch.
        await startLoginSession(c, db, user.login, 'oidc', [recordLoginStatement(user.login, null)]);
        return redirect(c, flow.returnTo);
      });
    }),
  );

  return app;
}

const stateCookieOptions = (c: Context) =>
  ({ path: CALLBACK_PATH, httpOnly: true, sameSite: 'Lax', secure: new URL(c.req.url).protocol === 'https:' }) as const;

/** The callback URL registered with every provider: this edge's origin and CALLBACK_PATH. */
const callbackUrl = (c: Context) => new URL(CALLBACK_PATH, c.req.url).href;

function findProvider(providers: readonly OidcProvider[], id: string): OidcProvider {
  const p = providers.find((x) => x.id === id);
  if (!p) throw new HttpError('login_failed', `there is no sign-in provider "${id}"; choose one on the login page`);
  return p;
}

function parseQuery<S extends z.ZodType>(c: Context, schema: S): z.infer<S> {
  const parsed = schema.safeParse(c.req.query());
  if (!parsed.success) throw new HttpError('invalid_request', describeZodError(parsed.error));
  return parsed.data;
}

/** A redirect nobody caches: each one carries a one-time state or follows a sign-in. */
function redirect(c: Context, location: string): Response {
  c.header('cache-control', 'no-store');
  return c.redirect(location, 302);
}

/** Whether a browser is navigating (a person at the screen) rather than a script calling the API. */
function isNavigation(c: Context): boolean {
  return c.req.header('sec-fetch-mode') === 'navigate' || (c.req.header('accept') ?? '').includes('text/html');
}

/**
 * Runs a sign-in step. A person whose sign-in fails is sent back to the login
 * page with the reason in words (and no cookie); a script gets the error as
 * JSON. Unexpected failures are logged and said plainly.
 */
async function refusalsToLoginPage(c: Context<EdgeEnv>, step: () => Promise<Response>): Promise<Response> {
  try {
    return await step();
  } catch (err) {
    if (!isNavigation(c)) throw err;
    let message: string;
    if (err instanceof HttpError) message = err.message;
    else {
      console.error(`edge: ${c.req.path} failed: ${(err as Error).name}: ${(err as Error).message}`);
      message = 'signing in failed on the server; try again later';
    }
    return redirect(c, `${LOGIN_PAGE}?${new URLSearchParams({ error: 'login_failed', message })}`);
  }
}
