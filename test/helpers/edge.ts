// The edge worker in workerd for integration tests and the bench: bundled the way wrangler bundles it, run by Miniflare on a free port.
import { createServer } from 'node:http';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { build } from 'esbuild';
import { Miniflare } from 'miniflare';
import { RTCPeerConnection } from 'node-datachannel/polyfill';
import { TEST_SECRET } from './system.js';

const ROOT = resolve(import.meta.dirname, '../..');
const ASSETS_DIR = join(ROOT, 'edge/assets');
/** wrangler.toml's date; the runtime the tests run is the one `wrangler dev` runs. */
export const EDGE_COMPATIBILITY_DATE = '2026-04-01';

const bundles = new Map<string, Promise<string>>();

/** Bundles edge/index.ts (or another entry wrapping it) once per process, with the conditions wrangler uses (workerd first). */
export function bundleEdge(entry = 'edge/index.ts'): Promise<string> {
  let bundled = bundles.get(entry);
  if (!bundled) {
    bundled = (async () => {
      const dir = mkdtempSync(join(tmpdir(), 'netpoke-edge-'));
      process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
      const outfile = join(dir, 'index.js');
      await build({
        entryPoints: [join(ROOT, entry)],
        outfile,
        bundle: true,
        format: 'esm',
        platform: 'neutral',
        target: 'es2022',
        conditions: ['workerd', 'worker', 'browser'],
        mainFields: ['browser', 'module', 'main'],
        logLevel: 'warning',
      });
      return outfile;
    })();
    bundles.set(entry, bundled);
  }
  return bundled;
}

export interface TestEdge {
  /** Origin of the edge, e.g. http://127.0.0.1:41234 */
  url: string;
  mf: Miniflare;
  /** POST JSON (or raw text) to a path of the edge. */
  post(path: string, body: unknown, headers?: Record<string, string>): Promise<Response>;
  close(): Promise<void>;
}

export interface TestEdgeOptions {
  libsqlUrl: string;
  /** The database's bearer token (TestDb.authToken). */
  libsqlAuthToken?: string;
  secret?: string;
  /** More env vars (strings, as wrangler passes them). */
  vars?: Record<string, string>;
  /** `request.cf` every request sees (region choice). */
  cf?: { colo?: string; continent?: string };
  /** CA certificates (PEM) the worker's outbound fetches trust besides the public ones (a TLS relay with a test CA). */
  trustedCertificates?: string[];
  /** Count the edge's object-store calls per request, in an `x-test-r2-ops` answer header (test/helpers/r2-counting-worker.ts). */
  countR2?: boolean;
}

/** Starts the edge in workerd on a free loopback port, in local mode, with the page assets when they are built. */
export async function startTestEdge(opts: TestEdgeOptions): Promise<TestEdge> {
  const scriptPath = await bundleEdge(opts.countR2 ? 'test/helpers/r2-counting-worker.ts' : 'edge/index.ts');
  const hasAssets = existsSync(ASSETS_DIR) && readdirSync(ASSETS_DIR).length > 0;
  const mf = new Miniflare({
    scriptPath,
    modules: true,
    // The bundle lives in a temp dir; module names are taken relative to this.
    modulesRoot: dirname(scriptPath),
    compatibilityDate: EDGE_COMPATIBILITY_DATE,
    host: '127.0.0.1',
    port: 0,
    cf: { colo: 'DFW', continent: 'NA', country: 'US', ...opts.cf },
    // The recordings bucket, in memory (as wrangler dev's local R2, without the disk).
    r2Buckets: ['RECORDINGS'],
    // Background exports (wrangler.toml's queue): one message per batch, delivered at once.
    queueProducers: { EXPORT_QUEUE: { queueName: 'netpoke-exports' } },
    queueConsumers: { 'netpoke-exports': { maxBatchSize: 1, maxBatchTimeout: 0, maxRetries: 5 } },
    bindings: {
      NETPOKE_MODE: 'local',
      LIBSQL_URL: opts.libsqlUrl,
      ...(opts.libsqlAuthToken ? { LIBSQL_AUTH_TOKEN: opts.libsqlAuthToken } : {}),
      RELAY_SHARED_SECRET: opts.secret ?? TEST_SECRET,
      ...opts.vars,
    },
    // Miniflare's own outbound network, plus the test's CAs.
    ...(opts.trustedCertificates
      ? { outboundService: { network: { allow: ['public', 'private', '240.0.0.0/4'], deny: [], tlsOptions: { trustBrowserCas: true, trustedCertificates: opts.trustedCertificates } } } }
      : {}),
    ...(hasAssets ? { assets: { directory: ASSETS_DIR, binding: 'ASSETS', routerConfig: { has_user_worker: true, invoke_user_worker_ahead_of_assets: true } } } : {}),
  });
  const url = (await mf.ready).origin;
  return {
    url,
    mf,
    post: (path, body, headers = {}) =>
      fetch(`${url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      }),
    close: () => mf.dispose(),
  };
}

/**
 * A real WebRTC offer with NetPoke's three channels and every candidate
 * gathered, from a peer connection that is closed again at once (enough for
 * signaling tests that never connect).
 */
export async function makeOffer(): Promise<string> {
  const pc = new RTCPeerConnection({ iceServers: [] });
  try {
    pc.createDataChannel('probe', { ordered: false, maxRetransmits: 0 });
    pc.createDataChannel('bulk', { ordered: false, maxRetransmits: 0 });
    pc.createDataChannel('control', { ordered: true });
    await pc.setLocalDescription(await pc.createOffer());
    if (pc.iceGatheringState !== 'complete') {
      await new Promise<void>((done) => {
        const check = () => pc.iceGatheringState === 'complete' && done();
        pc.addEventListener('icegatheringstatechange', check);
      });
    }
    const sdp = pc.localDescription?.sdp;
    if (!sdp) throw new Error('no local description');
    return sdp;
  } finally {
    pc.close();
  }
}

/** The claims inside a signed token, read without checking the signature (tests look at what the edge sent). */
export function peekClaims(token: string): Record<string, unknown> {
  const body = token.split('.')[0] ?? '';
  return JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as Record<string, unknown>;
}

export interface FakeRelayCall {
  method: string;
  path: string;
  /** Claims of the bearer token the edge sent. */
  claims: Record<string, unknown> | null;
}

export interface FakeRelay {
  url: string;
  calls: FakeRelayCall[];
  close(): Promise<void>;
}

/**
 * A stand-in relay internal API that records every call and answers with
 * `respond` (e.g. a 500, or a 200 with a body that is not an answer), or
 * never answers when `respond` returns null.
 */
export async function startFakeRelay(respond: (call: FakeRelayCall) => { status: number; body?: unknown } | null): Promise<FakeRelay> {
  const calls: FakeRelayCall[] = [];
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const auth = req.headers.authorization ?? '';
      const call: FakeRelayCall = { method: req.method ?? '', path: req.url ?? '', claims: auth.startsWith('Bearer ') ? peekClaims(auth.slice(7)) : null };
      calls.push(call);
      const out = respond(call);
      if (!out) return;
      res.writeHead(out.status, { 'content-type': 'application/json' });
      res.end(out.body === undefined ? '' : JSON.stringify(out.body));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}
