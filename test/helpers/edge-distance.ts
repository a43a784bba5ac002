// The edge with its database at a distance: a real relay and database, the edge in workerd reaching the
// database through the delay proxy, and the request types whose database round trips are counted there.
// Shared by test/integration/edge-distance.test.ts and `npm run bench edge`.
import { hashPassword } from '../../shared/auth/password.js';
import { createMagicKey } from '../../shared/db/keys.js';
import { createUser, setGrants } from '../../shared/db/users.js';
import { SignalingStartResponseSchema } from '../../shared/protocol/index.js';
import type { RelayHandle } from '../../relay/relay.js';
import { startDbProxy, type DbProxy, type DbTraffic } from './db-proxy.js';
import { makeOffer, peekClaims, startTestEdge, type TestEdge } from './edge.js';
import { loginCookie } from './principals.js';
import { seedSurveys } from './seed-surveys.js';
import { eventually, relayToken, startTestDb, startTestRelay, type TestDb } from './system.js';

/** The request types measured, in the order they are printed. */
export const REQUEST_TYPES = [
  'signaling (anonymous)',
  'signaling (logged in)',
  'survey list',
  'survey detail',
  'survey series',
  'live poll',
  'login',
  '/api/auth/me',
  'ICE servers',
] as const;
export type RequestType = (typeof REQUEST_TYPES)[number];

/** Surveys seeded for the analyst's key, named `dist-000001`… */
export const DISTANCE_SURVEYS = 60;

export interface DistanceStack {
  db: TestDb;
  relay: RelayHandle;
  proxy: DbProxy;
  edge: TestEdge;
  /** The magic key granted to the analyst (the seeded surveys'). */
  key: string;
  /** Makes one request of a type (the answer checked, the relay's peer closed again), as the proxy counts it. */
  measure(type: RequestType): Promise<{ traffic: DbTraffic; ms: number }>;
  /** A GET as the logged-in analyst (granted the one key whose surveys are seeded). */
  get(path: string): Promise<Response>;
  /** Logs the analyst in afresh (a session used within the minute is not touched, so it costs no write). */
  relogin(): Promise<void>;
  close(): Promise<void>;
}

const LOGIN = 'distance-analyst';
const PASSWORD = 'distance-password-0123456789';

/**
 * Starts the stack: an analyst granted one key with DISTANCE_SURVEYS surveys, logged in; a relay on the database
 * directly (its own traffic is not the edge's); the edge on the proxy. One database request is made
 * before returning, so the isolate's one-time schema check is behind.
 */
export async function startDistanceStack(): Promise<DistanceStack> {
  const db = await startTestDb();
  const closers: (() => Promise<unknown>)[] = [() => db.close()];
  const close = async () => {
    for (const c of closers.reverse()) await c().catch(() => undefined);
  };
  try {
    const relay = await startTestRelay(db, { capacity: 1000 });
    closers.push(() => relay.close());
    const proxy = await startDbProxy(db.url);
    closers.push(() => proxy.close());
    const edge = await startTestEdge({ libsqlUrl: proxy.url, libsqlAuthToken: db.authToken });
    closers.push(() => edge.close());

    const key = await createMagicKey(db.db, { label: 'distance', ttlMs: 24 * 3_600_000, maxConcurrentSessions: 100 });
    await createUser(db.db, { login: LOGIN, role: 'analyst', passwordHash: await hashPassword(PASSWORD) });
    await setGrants(db.db, LOGIN, [key.key_id], null);
    await seedSurveys(db.db, { count: DISTANCE_SURVEYS, magicKey: key.key, t0: Date.now() - 3_600_000, prefix: 'dist' });
    const surveyId = 'dist-000003';
    let cookie = await loginCookie(edge.url, LOGIN, PASSWORD);
    const offers = await Promise.all([makeOffer(), makeOffer()]);

    const closePeer = async (sessionHandle: string) => {
      const peerId = String(peekClaims(sessionHandle).peer_id);
      const token = await relayToken(relay, { op: 'close', peer_id: peerId });
      await fetch(`${relay.url}/internal/peers/${peerId}`, { method: 'DELETE', headers: { authorization: `Bearer ${token}` } });
    };
    const signal = async (withCookie: boolean, i: number) => {
      const resp = await edge.post('/api/signaling/start', { sdp: offers[i % offers.length], type: 'offer', magic_key: key.key }, withCookie ? { cookie } : {});
      return { resp, after: async () => closePeer(SignalingStartResponseSchema.parse(await resp.json()).session_id) };
    };
    const get = (path: string, withCookie = true) => fetch(`${edge.url}${path}`, { headers: withCookie ? { cookie } : {} });
    const requests: Record<RequestType, (i: number) => Promise<{ resp: Response; after?: () => Promise<void> }>> = {
      'signaling (anonymous)': (i) => signal(false, i),
      'signaling (logged in)': (i) => signal(true, i),
      'survey list': async () => ({ resp: await get('/api/surveys?limit=50') }),
      'survey detail': async () => ({ resp: await get(`/api/surveys/${surveyId}`) }),
      // With the detail, what the compare page reads of each survey.
      'survey series': async () => ({ resp: await get(`/api/surveys/${surveyId}/series`) }),
      'live poll': async () => ({ resp: await get('/api/live') }),
      login: async () => ({ resp: await edge.post('/api/auth/login', { login: LOGIN, password: PASSWORD }) }),
      '/api/auth/me': async () => ({ resp: await get('/api/auth/me') }),
      'ICE servers': async () => ({ resp: await get(`/api/ice-servers?key=${encodeURIComponent(key.key)}`, false) }),
    };

    let n = 0;
    const measure = async (type: RequestType) => {
      const t0 = performance.now();
      const { value, traffic } = await proxy.measure(async () => {
        const out = await requests[type](n++);
        // The answer is read inside the measurement: the edge's work ends when its body does.
        const text = await out.resp.clone().text();
        if (out.resp.status !== 200) throw new Error(`${type}: ${out.resp.status} ${text}`);
        return out;
      });
      const ms = performance.now() - t0;
      await value.after?.();
      return { traffic, ms };
    };
    const relogin = async () => {
      cookie = await loginCookie(edge.url, LOGIN, PASSWORD);
    };
    // The relay has heartbeated (signaling needs a fresh relay) and the isolate has checked the schema.
    await eventually(async () => (await db.db.execute('SELECT 1 FROM relays WHERE last_heartbeat > 0')).rows.length > 0);
    await measure('/api/auth/me');
    return { db, relay, proxy, edge, key: key.key, measure, get: (path) => get(path), relogin, close };
  } catch (e) {
    await close();
    throw e;
  }
}
