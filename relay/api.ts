import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { z } from 'zod';
import { describeZodError, errorBody, HTTP_ERRORS, type HttpErrorCode } from '../shared/protocol/errors.js';
import {
  RelayCreatePeerRequestSchema,
  RelayIceRequestSchema,
  RelayTokenClaimsSchema,
  type RelayCreatePeerRequest,
  type RelayCreatePeerResponse,
  type RelayLoad,
  type RelayTokenClaims,
} from '../shared/protocol/relay-api.js';
import type { Secrets } from '../shared/secret-keys.js';
import { verifyToken } from '../shared/signing.js';
import { createReplayGuard } from './token-replay.js';
import { bearerMatches } from './bearer.js';
import { addHealthRoutes } from './health-routes.js';
import type { Scrape } from './metrics.js';
import type { Readiness } from './readiness.js';

/** What the internal API needs from the relay. */
export interface RelayService {
  relayId: string;
  secrets: Secrets;
  /** The bearer of `GET /metrics` here (METRICS_TOKEN); unset, this API serves no metrics (the ops port does). */
  metricsToken?: string;
  /** The load report; `resetSlip` starts a new timer-slip window after reading (the bench's steady state). */
  load(resetSlip?: boolean): RelayLoad;
  createPeer(claims: RelayTokenClaims & { peer_id: string }, req: RelayCreatePeerRequest): Promise<RelayCreatePeerResponse>;
  addCandidate(peerId: string, candidate: string, sdpMid: string | undefined): boolean;
  closePeer(peerId: string): void;
  /** True once a drain started. */
  draining(): boolean;
  /** Starts the graceful drain SIGTERM starts (no new peers; running surveys go on up to the bound); returns at once. */
  drain(): void;
  /** Whether it can take new peers now (GET /ready). */
  ready(): Promise<Readiness>;
}

/** Relay-only refusals besides PROTOCOL's: 409 `conflict`, 503 `unavailable` (draining: ask another relay). */
type ApiErrorCode = HttpErrorCode | 'conflict' | 'unavailable';
const RELAY_STATUS = { conflict: 409, unavailable: 503 } as const;

/** A refusal the API turns into a PROTOCOL-shaped error. */
export class ApiError extends Error {
  constructor(
    readonly code: ApiErrorCode,
    message: string,
  ) {
    super(message);
  }
}

type Env = { Variables: { claims: RelayTokenClaims } };

/** The relay's internal API (edge → relay); every call but /health, /ready and /metrics carries a short-lived token signed with the relay-token key. */
export function createRelayApi(relay: RelayService, opts: { scrape?: () => Promise<Scrape> } = {}): Hono<Env> {
  const app = new Hono<Env>();
  const replays = createReplayGuard();

  app.onError((err, c) => {
    if (err instanceof ApiError) return fail(c, err.code, err.message);
    return fail(c, 'internal_error', 'the relay failed to handle this call');
  });
  app.notFound((c) => fail(c, 'not_found', `no route ${c.req.method} ${c.req.path}`));

  addHealthRoutes(app, () => relay.ready());

  // Prometheus scrape with a credential of its own: a scrape (often plain HTTP) never carries the secret that mints tokens.
  app.get('/metrics', async (c) => {
    if (!opts.scrape) return fail(c, 'not_found', 'this relay serves no metrics');
    if (!relay.metricsToken) return fail(c, 'not_found', 'this relay serves /metrics here only with METRICS_TOKEN set; scrape its ops port (RELAY_METRICS_PORT)');
    if (!bearerMatches(c.req.header('authorization'), relay.metricsToken)) return fail(c, 'auth_required', 'metrics need Authorization: Bearer <METRICS_TOKEN>');
    const m = await opts.scrape();
    return c.body(m.body, 200, { 'content-type': m.contentType });
  });

  const auth = (op: RelayTokenClaims['op']) => async (c: Context<Env>, next: () => Promise<void>) => {
    const header = c.req.header('authorization') ?? '';
    const token = header.startsWith('Bearer ') ? header.slice(7) : '';
    if (!token) return fail(c, 'auth_required', 'this call needs a token signed by the edge');
    const v = await verifyToken(token, relay.secrets, 'relay', RelayTokenClaimsSchema);
    if (!v.ok) return fail(c, 'auth_required', `token refused: ${v.reason}`);
    if (v.claims.aud !== relay.relayId) return fail(c, 'auth_required', 'token refused: issued for another relay');
    if (v.claims.op !== op) return fail(c, 'auth_required', `token refused: issued for ${v.claims.op}, not ${op}`);
    const pathPeer = c.req.param('peer_id');
    if (pathPeer !== undefined && v.claims.peer_id !== pathPeer) return fail(c, 'auth_required', 'token refused: issued for another peer');
    // Last, so a token refused for another reason is not spent; a copy seen on the wire is worth nothing once used.
    if (!replays.firstUse(v.claims.jti, v.claims.exp)) return fail(c, 'auth_required', 'token refused: already used (a relay token is good for one call)');
    c.set('claims', v.claims);
    await next();
  };

  const limit = bodyLimit({ maxSize: 64 * 1024, onError: (c) => fail(c, 'too_large', 'body over 64 KiB') });

  app.get('/internal/load', auth('load'), (c) => c.json(relay.load(c.req.query('reset_slip') === '1')));

  app.post('/internal/peers', limit, auth('create'), async (c) => {
    const claims = c.get('claims');
    if (!claims.peer_id) return fail(c, 'auth_required', 'token refused: no peer_id');
    const body = await parseBody(c, RelayCreatePeerRequestSchema);
    const answer = await relay.createPeer({ ...claims, peer_id: claims.peer_id }, body);
    return c.json(answer);
  });

  app.post('/internal/peers/:peer_id/ice', limit, auth('ice'), async (c) => {
    const body = await parseBody(c, RelayIceRequestSchema);
    if (!relay.addCandidate(c.req.param('peer_id') ?? '', body.candidate, body.sdp_mid)) return fail(c, 'not_found', 'no such peer');
    return c.body(null, 204);
  });

  app.delete('/internal/peers/:peer_id', auth('close'), (c) => {
    relay.closePeer(c.req.param('peer_id') ?? '');
    return c.body(null, 204);
  });

  app.post('/internal/drain', auth('drain'), (c) => {
    relay.drain();
    return c.json({ relay_id: relay.relayId, state: 'draining' }, 202);
  });

  return app;
}

async function parseBody<S extends z.ZodType>(c: Context<Env>, schema: S): Promise<z.infer<S>> {
  let json: unknown;
  try {
    json = await c.req.json();
  } catch {
    throw new ApiError('invalid_request', 'body is not valid JSON');
  }
  const r = schema.safeParse(json);
  if (!r.success) throw new ApiError('invalid_request', describeZodError(r.error));
  return r.data;
}

function fail(c: Context, code: ApiErrorCode, message: string): Response {
  const status = code === 'conflict' || code === 'unavailable' ? RELAY_STATUS[code] : HTTP_ERRORS[code];
  return c.json(errorBody(code, message), status as 400);
}
