import { isIP } from 'node:net';
import * as z from 'zod';
import { parseConfig } from '../shared/config.js';
import { ipFamily } from '../shared/ip-family.js';
import type { Secrets } from '../shared/secret-keys.js';
import { DEFAULT_CAPTURE_MAX_BYTES, DEFAULT_CAPTURE_MAX_BYTES_PER_CONN, MIN_CAPTURE_BYTES_PER_CONN } from './capture/capture-buffer.js';
import { DEFAULT_IDLE_TIMEOUT_MS, DEFAULT_MAX_CONNECTION_MS } from './connection-watch.js';
import { DEFAULT_DRAIN_MS } from './drain.js';
import { DEFAULT_LIMIT_GRACE_MS } from './end-connection.js';
import { DEFAULT_KEY_CHECK_MS } from './key-watch.js';
import { DEFAULT_PATH_TRACE_CONFIG, type PathTraceConfig } from './path-trace/path-tracer.js';

const port = z.coerce.number().int().min(0).max(65535);
/** A timer's duration: setTimeout takes at most 2^31 - 1 ms. */
const timerMs = (min: number, fallback: number) => z.coerce.number().int().min(min).max(2 ** 31 - 1).default(fallback);

/** An empty variable (e.g. a blank line in an env file) counts as unset. */
const unsetIfEmpty = (v: unknown) => (v === '' ? undefined : v);

/** `RELAY_PUBLIC_ADDRESS`: one or more IP addresses, comma-separated (e.g. an IPv4 and an IPv6 one). */
const AddressListSchema = z.string().transform((text, ctx) => {
  const list = [...new Set(text.split(',').map((a) => a.trim()).filter(Boolean))];
  const bad = list.filter((a) => isIP(a) === 0);
  if (list.length === 0 || bad.length > 0) {
    ctx.addIssue({ code: 'custom', message: `must be IPv4 / IPv6 addresses, comma-separated${bad.length ? ` ("${bad.join('", "')}" is not one)` : ''}` });
    return z.NEVER;
  }
  return list;
});

const RelayEnvSchema = z.object({
  // As the edge's: `local` (npm start, one machine) allows a plain-http internal API; anything else needs TLS.
  NETPOKE_MODE: z.enum(['local', 'deployed']).default('deployed'),
  RELAY_ID: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'letters, digits, _ . - (1–64)').default('local-1'),
  RELAY_REGION: z.string().min(1).max(64).default('local'),
  RELAY_HOST: z.string().min(1).default('127.0.0.1'),
  RELAY_PORT: port.default(8790),
  RELAY_UDP_PORT: port.refine((p) => p > 0, 'must be a fixed port').default(50000),
  // Throughput tests' load connections: 0 gives each its own ephemeral port; a fixed port muxes them all there.
  RELAY_LOAD_UDP_PORT: port.default(0),
  RELAY_BIND_ADDRESS: z.string().min(1).default('127.0.0.1'),
  RELAY_PUBLIC_ADDRESS: z.preprocess(unsetIfEmpty, AddressListSchema.optional()),
  RELAY_INTERNAL_URL: z.preprocess(unsetIfEmpty, z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' }).optional()),
  RELAY_TLS_CERT_FILE: z.preprocess(unsetIfEmpty, z.string().optional()),
  RELAY_TLS_KEY_FILE: z.preprocess(unsetIfEmpty, z.string().optional()),
  RELAY_BEHIND_TLS_PROXY: z.preprocess(unsetIfEmpty, z.stringbool().default(false)),
  RELAY_CAPACITY: z.coerce.number().int().min(1).default(200),
  RELAY_METRICS_PORT: z.preprocess((v) => (v === '' ? undefined : v), port.optional()),
  RELAY_METRICS_HOST: z.string().min(1).default('127.0.0.1'),
  RELAY_SHARED_SECRET: z.string().min(16, 'must be at least 16 characters'),
  RELAY_SHARED_SECRET_PREVIOUS: z.preprocess((v) => (v === '' ? undefined : v), z.string().min(16, 'must be at least 16 characters').optional()),
  METRICS_TOKEN: z.preprocess((v) => (v === '' ? undefined : v), z.string().min(16, 'must be at least 16 characters').optional()),
  RELAY_DEFAULT_MAX_MEASURING_MS: z.coerce.number().int().min(1000).default(600_000),
  RELAY_IDLE_TIMEOUT_MS: timerMs(1_000, DEFAULT_IDLE_TIMEOUT_MS),
  RELAY_MAX_CONNECTION_MS: timerMs(1_000, DEFAULT_MAX_CONNECTION_MS),
  RELAY_KEY_CHECK_MS: timerMs(100, DEFAULT_KEY_CHECK_MS),
  RELAY_LIMIT_GRACE_MS: timerMs(0, DEFAULT_LIMIT_GRACE_MS),
  // Seconds running surveys may go on after SIGTERM (or POST /internal/drain) before they are told and closed.
  RELAY_DRAIN_S: z.coerce.number().int().min(0).max(Math.floor((2 ** 31 - 1) / 1000)).default(DEFAULT_DRAIN_MS / 1000),
  RELAY_LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
  LIBSQL_URL: z.string().min(1),
  LIBSQL_AUTH_TOKEN: z.string().optional(),
  NETPOKE_DATA_DIR: z.string().min(1).default('./data'),
  // The edge that takes finished captures into its object store; unset, they stay in NETPOKE_DATA_DIR/captures.
  EDGE_URL: z.preprocess((v) => (v === '' ? undefined : v), z.url().optional()),
  RELAY_CAPTURE_MAX_BYTES: z.coerce.number().int().min(MIN_CAPTURE_BYTES_PER_CONN).default(DEFAULT_CAPTURE_MAX_BYTES),
  RELAY_CAPTURE_MAX_BYTES_PER_CONN: z.coerce.number().int().min(MIN_CAPTURE_BYTES_PER_CONN).default(DEFAULT_CAPTURE_MAX_BYTES_PER_CONN),
  // Path traces toward each client (relay/path-trace): mtr-packet and tracepath need CAP_NET_RAW (README).
  RELAY_PATH_TRACE: z.enum(['on', 'off']).default('on'),
  RELAY_PATH_TRACE_PROBES_PER_S: z.coerce.number().int().min(1).max(10_000).default(DEFAULT_PATH_TRACE_CONFIG.probesPerSecond),
  RELAY_PATH_TRACE_PROBES_PER_HOP: z.coerce.number().int().min(1).max(100).default(DEFAULT_PATH_TRACE_CONFIG.settings.probesPerHop),
  RELAY_PATH_TRACE_EVERY_MS: timerMs(1_000, DEFAULT_PATH_TRACE_CONFIG.everyMs),
  RELAY_MTR_PACKET: z.string().min(1).default(DEFAULT_PATH_TRACE_CONFIG.mtrPacketPath),
  RELAY_TRACEPATH: z.string().min(1).default(DEFAULT_PATH_TRACE_CONFIG.tracepathPath),
}).superRefine((e, ctx) => {
  if (e.RELAY_CAPTURE_MAX_BYTES_PER_CONN > e.RELAY_CAPTURE_MAX_BYTES) ctx.addIssue({ code: 'custom', path: ['RELAY_CAPTURE_MAX_BYTES_PER_CONN'], message: 'must not exceed RELAY_CAPTURE_MAX_BYTES' });
  if (e.RELAY_SHARED_SECRET_PREVIOUS === e.RELAY_SHARED_SECRET) ctx.addIssue({ code: 'custom', path: ['RELAY_SHARED_SECRET_PREVIOUS'], message: 'must differ from RELAY_SHARED_SECRET (unset it once rotation is over)' });
  // The scrape credential travels on every scrape: it must never be (either) secret that mints tokens.
  if (e.METRICS_TOKEN !== undefined && [e.RELAY_SHARED_SECRET, e.RELAY_SHARED_SECRET_PREVIOUS].includes(e.METRICS_TOKEN)) {
    ctx.addIssue({ code: 'custom', path: ['METRICS_TOKEN'], message: 'must not be RELAY_SHARED_SECRET (or its previous value): scrapes travel in the clear' });
  }
  for (const problem of [...tlsProblems(e), ...familyProblems(e.RELAY_BIND_ADDRESS, e.RELAY_PUBLIC_ADDRESS ?? [])]) ctx.addIssue({ code: 'custom', ...problem });
});

type Problem = { path: string[]; message: string };

/**
 * How the edge reaches the internal API: the relay's own certificate, or a TLS-terminating reverse proxy in front
 * (RELAY_BEHIND_TLS_PROXY=true, RELAY_INTERNAL_URL its https:// URL). Plain http is for local mode only: outside it
 * the relay refuses to start rather than register a URL the edge would send keys and tokens to in clear.
 */
function tlsProblems(e: {
  NETPOKE_MODE: 'local' | 'deployed';
  RELAY_INTERNAL_URL?: string;
  RELAY_TLS_CERT_FILE?: string;
  RELAY_TLS_KEY_FILE?: string;
  RELAY_BEHIND_TLS_PROXY: boolean;
}): Problem[] {
  const problems: Problem[] = [];
  if (!e.RELAY_TLS_CERT_FILE !== !e.RELAY_TLS_KEY_FILE) {
    const missing = e.RELAY_TLS_CERT_FILE ? 'RELAY_TLS_KEY_FILE' : 'RELAY_TLS_CERT_FILE';
    problems.push({ path: [missing], message: 'must be set too: the relay serves HTTPS with both a certificate (RELAY_TLS_CERT_FILE) and its key (RELAY_TLS_KEY_FILE), or neither' });
    return problems;
  }
  const tls = Boolean(e.RELAY_TLS_CERT_FILE);
  const url = e.RELAY_INTERNAL_URL ?? (tls ? 'https://RELAY_HOST:RELAY_PORT' : 'http://RELAY_HOST:RELAY_PORT');
  const https = url.startsWith('https:');
  const path = ['RELAY_INTERNAL_URL'];
  if (tls && e.RELAY_BEHIND_TLS_PROXY) {
    problems.push({ path: ['RELAY_BEHIND_TLS_PROXY'], message: 'cannot be true with RELAY_TLS_CERT_FILE: either the relay serves HTTPS itself or a reverse proxy in front of it does' });
  } else if (tls && !https) {
    problems.push({ path, message: `is ${url}, but the relay serves HTTPS (RELAY_TLS_CERT_FILE): use its https:// URL` });
  } else if (e.RELAY_BEHIND_TLS_PROXY && !https) {
    problems.push({ path, message: `must be the https:// URL of the reverse proxy in front of the relay (RELAY_BEHIND_TLS_PROXY=true), not ${url}` });
  } else if (!tls && !e.RELAY_BEHIND_TLS_PROXY && https) {
    problems.push({ path, message: `is ${url}, but the relay has no certificate: set RELAY_TLS_CERT_FILE and RELAY_TLS_KEY_FILE, or RELAY_BEHIND_TLS_PROXY=true when a reverse proxy terminates TLS in front of it` });
  } else if (!https && e.NETPOKE_MODE !== 'local') {
    problems.push({
      path,
      message:
        `is plain http (${url}): outside local mode the edge calls relays over HTTPS only. Set RELAY_TLS_CERT_FILE and RELAY_TLS_KEY_FILE ` +
        '(the relay serves HTTPS), or put a TLS-terminating reverse proxy in front and set RELAY_BEHIND_TLS_PROXY=true with RELAY_INTERNAL_URL=https://<proxy>; ' +
        'NETPOKE_MODE=local allows http on one machine',
    });
  }
  return problems;
}

/**
 * The UDP socket is one per relay (ICE UDP mux), so one bind address serves every public address: `::` takes both
 * families (dual-stack), an IPv4 address or `0.0.0.0` only IPv4, an IPv6 address only IPv6.
 */
function familyProblems(bindAddress: string, publicAddresses: readonly string[]): Problem[] {
  if (isIP(bindAddress) === 0 || bindAddress === '::') return [];
  const bound = ipFamily(bindAddress);
  const other = publicAddresses.filter((a) => ipFamily(a) !== bound);
  if (other.length === 0) return [];
  return [
    {
      path: ['RELAY_BIND_ADDRESS'],
      message: `${bindAddress} takes ${bound === 'ipv4' ? 'IPv4' : 'IPv6'} only, but RELAY_PUBLIC_ADDRESS lists ${other.join(', ')}: bind to :: to take both families`,
    },
  ];
}

/** Everything a relay process needs, validated once at start-up. */
export interface RelayConfig {
  relayId: string;
  region: string;
  host: string;
  port: number;
  udpPort: number;
  /** UDP port of throughput tests' load connections, never the probes' port (0: an ephemeral one each). */
  loadUdpPort?: number;
  /** The UDP socket's address: one family, or `::` for both (dual-stack). */
  bindAddress: string;
  /** Addresses clients reach the UDP port at (1:1 NAT), each family's in the answer's candidates; unset: the ones gathered. */
  publicAddresses?: string[];
  /** The URL the edge calls; defaults to http(s)://host:port once the port is known. */
  internalUrl?: string;
  /** The internal API serves HTTPS with this certificate chain and key (PEM files, read again by reloadTls()). */
  tls?: { certFile: string; keyFile: string };
  capacity: number;
  /** The ops port serving GET /metrics without auth (off when unset), and its bind address. */
  metricsPort?: number;
  metricsHost?: string;
  /** RELAY_SHARED_SECRET (signs and verifies) and RELAY_SHARED_SECRET_PREVIOUS (verifies only, while rotating). */
  secrets: Secrets;
  /** The bearer `GET /metrics` on the internal API wants (METRICS_TOKEN); unset, metrics are on the ops port only. */
  metricsToken?: string;
  defaultMaxMeasuringMs: number;
  /** A connection the client sends nothing on for this long is closed (default 60 s); none stays open past maxConnectionMs (default 2 h). */
  idleTimeoutMs?: number;
  maxConnectionMs?: number;
  /** How often the keys of live sessions are checked for revocation and expiry (default 3 s). */
  keyCheckMs?: number;
  /** How long a connection whose measuring time is used up stays open, to stop its survey (default 5 s). */
  limitGraceMs?: number;
  /** How long running surveys may go on once a drain starts (default 15 min). */
  drainMs?: number;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  libsqlUrl: string;
  libsqlAuthToken?: string;
  dataDir: string;
  /** How long an offer waits for the relay's ICE gathering before answering with what it has. */
  gatherTimeoutMs?: number;
  /** A peer whose channels are not all open by then is closed. */
  openTimeoutMs?: number;
  /** Control messages a connection may send in a burst and per second after it (default 20 and 5). */
  controlBudget?: { burst: number; perSecond: number };
  /** Heartbeat period of the relays row. */
  heartbeatMs?: number;
  /** Capture memory for the whole relay (the largest capture loses its oldest records past it) and per connection. */
  captureMaxBytes?: number;
  captureMaxBytesPerConn?: number;
  /** The edge whose object store takes finished captures (PUT /internal/captures/...); unset: captures stay local. */
  edgeUrl?: string;
  /** Path tracing toward clients; unset: no tracer at all (relays started in-process by tests), `enabled: false`: reported unavailable. */
  pathTrace?: PathTraceConfig;
}

/** Reads the relay's config from env, or throws a ConfigError naming the bad variables. */
export function relayConfigFromEnv(env: Record<string, string | undefined>): RelayConfig {
  const e = parseConfig(RelayEnvSchema, env);
  return {
    relayId: e.RELAY_ID,
    region: e.RELAY_REGION,
    host: e.RELAY_HOST,
    port: e.RELAY_PORT,
    udpPort: e.RELAY_UDP_PORT,
    loadUdpPort: e.RELAY_LOAD_UDP_PORT,
    bindAddress: e.RELAY_BIND_ADDRESS,
    ...(e.RELAY_PUBLIC_ADDRESS ? { publicAddresses: e.RELAY_PUBLIC_ADDRESS } : {}),
    internalUrl: e.RELAY_INTERNAL_URL,
    ...(e.RELAY_TLS_CERT_FILE && e.RELAY_TLS_KEY_FILE ? { tls: { certFile: e.RELAY_TLS_CERT_FILE, keyFile: e.RELAY_TLS_KEY_FILE } } : {}),
    capacity: e.RELAY_CAPACITY,
    metricsPort: e.RELAY_METRICS_PORT,
    metricsHost: e.RELAY_METRICS_HOST,
    secrets: { current: e.RELAY_SHARED_SECRET, ...(e.RELAY_SHARED_SECRET_PREVIOUS ? { previous: e.RELAY_SHARED_SECRET_PREVIOUS } : {}) },
    ...(e.METRICS_TOKEN ? { metricsToken: e.METRICS_TOKEN } : {}),
    defaultMaxMeasuringMs: e.RELAY_DEFAULT_MAX_MEASURING_MS,
    idleTimeoutMs: e.RELAY_IDLE_TIMEOUT_MS,
    maxConnectionMs: e.RELAY_MAX_CONNECTION_MS,
    keyCheckMs: e.RELAY_KEY_CHECK_MS,
    limitGraceMs: e.RELAY_LIMIT_GRACE_MS,
    drainMs: e.RELAY_DRAIN_S * 1000,
    logLevel: e.RELAY_LOG_LEVEL,
    libsqlUrl: e.LIBSQL_URL,
    libsqlAuthToken: e.LIBSQL_AUTH_TOKEN,
    dataDir: e.NETPOKE_DATA_DIR,
    captureMaxBytes: e.RELAY_CAPTURE_MAX_BYTES,
    captureMaxBytesPerConn: e.RELAY_CAPTURE_MAX_BYTES_PER_CONN,
    ...(e.EDGE_URL ? { edgeUrl: e.EDGE_URL } : {}),
    pathTrace: {
      ...DEFAULT_PATH_TRACE_CONFIG,
      enabled: e.RELAY_PATH_TRACE === 'on',
      probesPerSecond: e.RELAY_PATH_TRACE_PROBES_PER_S,
      everyMs: e.RELAY_PATH_TRACE_EVERY_MS,
      mtrPacketPath: e.RELAY_MTR_PACKET,
      tracepathPath: e.RELAY_TRACEPATH,
      settings: { ...DEFAULT_PATH_TRACE_CONFIG.settings, probesPerHop: e.RELAY_PATH_TRACE_PROBES_PER_HOP },
    },
  };
}
