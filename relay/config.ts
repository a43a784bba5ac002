import * as z from 'zod';
import { parseConfig } from '../shared/config.js';
import type { Secrets } from '../shared/secret-keys.js';
import { DEFAULT_CAPTURE_MAX_BYTES, DEFAULT_CAPTURE_MAX_BYTES_PER_CONN, MIN_CAPTURE_BYTES_PER_CONN } from './capture/capture-buffer.js';
import { DEFAULT_IDLE_TIMEOUT_MS, DEFAULT_MAX_CONNECTION_MS } from './connection-watch.js';
import { DEFAULT_LIMIT_GRACE_MS } from './end-connection.js';
import { DEFAULT_KEY_CHECK_MS } from './key-watch.js';
import { DEFAULT_PATH_TRACE_CONFIG, type PathTraceConfig } from './path-trace/path-tracer.js';

const port = z.coerce.number().int().min(0).max(65535);
/** A timer's duration: setTimeout takes at most 2^31 - 1 ms. */
const timerMs = (min: number, fallback: number) => z.coerce.number().int().min(min).max(2 ** 31 - 1).default(fallback);

const RelayEnvSchema = z.object({
  RELAY_ID: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'letters, digits, _ . - (1–64)').default('local-1'),
  RELAY_REGION: z.string().min(1).max(64).default('local'),
  RELAY_HOST: z.string().min(1).default('127.0.0.1'),
  RELAY_PORT: port.default(8790),
  RELAY_UDP_PORT: port.refine((p) => p > 0, 'must be a fixed port').default(50000),
  RELAY_BIND_ADDRESS: z.string().min(1).default('127.0.0.1'),
  RELAY_PUBLIC_ADDRESS: z.string().min(1).optional(),
  RELAY_INTERNAL_URL: z.url().optional(),
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
});

/** Everything a relay process needs, validated once at start-up. */
export interface RelayConfig {
  relayId: string;
  region: string;
  host: string;
  port: number;
  udpPort: number;
  bindAddress: string;
  publicAddress?: string;
  /** The URL the edge calls; defaults to http://host:port once the port is known. */
  internalUrl?: string;
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
    bindAddress: e.RELAY_BIND_ADDRESS,
    publicAddress: e.RELAY_PUBLIC_ADDRESS,
    internalUrl: e.RELAY_INTERNAL_URL,
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
