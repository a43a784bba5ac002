import * as z from 'zod';
import { ConfigError, parseConfig } from '../shared/config.js';
import type { BreakerPolicy } from '../shared/db/relay-health.js';
import { KeyDefaultSessionsSchema } from '../shared/key-defaults.js';
import { IceServerSchema, type IceServer } from '../shared/protocol/signaling.js';
import type { Secrets } from '../shared/secret-keys.js';

/**
 * A JSON-valued variable. `[vars]` in wrangler.toml may hold a table (the
 * worker then sees an object) and a secret or `--var` is always text, so both
 * are accepted; bad JSON is reported against the variable's name.
 */
const json = <S extends z.ZodType>(schema: S) =>
  z
    .unknown()
    .transform((v, ctx) => {
      if (typeof v !== 'string') return v;
      try {
        return JSON.parse(v) as unknown;
      } catch {
        ctx.addIssue({ code: 'custom', message: 'is not valid JSON' });
        return z.NEVER;
      }
    })
    .pipe(schema);

const ms = (min: number, fallback: number) => z.coerce.number().int().min(min).default(fallback);

const LIBSQL_SCHEMES = ['libsql:', 'http:', 'https:', 'ws:', 'wss:'];

/** `REGION_MAP`: a `cf.colo` (e.g. "LHR") or `cf.continent` (e.g. "EU") → relay region(s), best first; "*" for everyone else. */
const RegionMapSchema = z.record(z.string(), z.union([z.string().min(1), z.array(z.string().min(1))]));

/** `TURN_URLS`: a JSON array (or a wrangler [vars] array) or a comma-separated list of turn:/turns: URLs. */
const TurnUrlsSchema = z
  .unknown()
  .transform((v) => (typeof v === 'string' && !v.trim().startsWith('[') ? JSON.stringify(v.split(',').map((u) => u.trim()).filter(Boolean)) : v))
  .pipe(json(z.array(z.string().regex(/^turns?:[^\s,@]+$/, 'must be a turn: or turns: URL without credentials')).min(1, 'must list at least one URL')));

/** An empty variable (e.g. a blank placeholder in [vars]) counts as unset. */
const unsetIfEmpty = (v: unknown) => (v === '' ? undefined : v);

/** The breaker's back-off doubles with each failure up to RELAY_BACKOFF_MS times this (10 s → about 5 min). */
const MAX_BACKOFF_FACTOR = 32;

/** Lifetime of minted TURN credentials unless TURN_TTL_S says otherwise: short, since a browser may leak them. */
export const DEFAULT_TURN_TTL_S = 600;

/** Most rows GET /api/surveys/export streams unless EXPORT_INLINE_MAX_ROWS says otherwise; larger exports are background jobs. */
export const DEFAULT_EXPORT_INLINE_MAX_ROWS = 200_000;

/** A TURN server using coturn's `use-auth-secret` (TURN REST API credentials). */
export interface TurnConfig {
  /** coturn's `static-auth-secret`. */
  secret: string;
  urls: string[];
  /** Lifetime of each minted credential. */
  ttlS: number;
}

/** `ALLOWED_ORIGINS`: comma-separated `scheme://host[:port]` origins, besides the edge's own, whose pages may make state-changing calls. */
const OriginListSchema = z.string().transform((text, ctx) => {
  const origins: string[] = [];
  for (const item of text.split(',').map((s) => s.trim()).filter(Boolean)) {
    const url = URL.canParse(item) ? new URL(item) : null;
    if (!url || !['http:', 'https:'].includes(url.protocol) || url.origin !== item.replace(/\/$/, '').toLowerCase()) {
      ctx.addIssue({ code: 'custom', message: `"${item}" is not an origin like https://example.com or http://127.0.0.1:8787` });
      return z.NEVER;
    }
    origins.push(url.origin);
  }
  return origins;
});

/**
 * One entry of `OIDC_PROVIDERS`: an OpenID issuer (discovery at
 * `<issuer>/.well-known/openid-configuration`) or `"type": "github"` (GitHub's
 * OAuth, which is not OpenID). The client secret is never here: it is the
 * secret `OIDC_SECRET_<ID>` (id upper-cased, `-` as `_`).
 */
const OidcProviderSchema = z
  .object({
    id: z.string().regex(/^[a-z0-9-]{1,32}$/, 'must be 1–32 lower-case letters, digits or -'),
    name: z.string().min(1).max(64).optional(),
    type: z.enum(['oidc', 'github']).default('oidc'),
    issuer: z.url().optional(),
    client_id: z.string().min(1).max(512),
    scopes: z.string().max(512).optional(),
  })
  .refine((p) => p.type === 'github' || p.issuer, { message: 'an oidc provider needs its issuer URL', path: ['issuer'] });

const EdgeEnvSchema = z.object({
  LIBSQL_URL: z
    .string({ error: 'is required (the libSQL/Turso database URL)' })
    .refine((u) => URL.canParse(u) && LIBSQL_SCHEMES.includes(new URL(u).protocol), `must be a ${LIBSQL_SCHEMES.join(' / ')} URL`),
  LIBSQL_AUTH_TOKEN: z
    .string()
    .optional()
    .transform((t) => (t ? t : undefined)),
  RELAY_SHARED_SECRET: z.string({ error: 'is required (set it with `wrangler secret put RELAY_SHARED_SECRET`)' }).min(16, 'must be at least 16 characters'),
  RELAY_SHARED_SECRET_PREVIOUS: z.preprocess(unsetIfEmpty, z.string().min(16, 'must be at least 16 characters').optional()),
  NETPOKE_MODE: z.enum(['local', 'deployed']).default('deployed'),
  NETPOKE_DEMO_KEY: z.string().min(1).max(256).optional(),
  REGION_MAP: json(RegionMapSchema).default({}),
  ICE_SERVERS: json(z.array(IceServerSchema)).default([]),
  RELAY_FRESH_MS: ms(1000, 15_000),
  MAX_BODY_BYTES: z.coerce.number().int().min(1024).max(1024 * 1024).default(64 * 1024),
  KEY_FAILURE_LIMIT: z.coerce.number().int().min(1).default(10),
  KEY_FAILURE_WINDOW_MS: ms(1000, 10 * 60_000),
  RELAY_TIMEOUT_MS: ms(100, 8_000),
  RELAY_FIRST_TIMEOUT_MS: ms(100, 2_000),
  RELAY_BREAKER_FAILURES: z.coerce.number().int().min(1).default(2),
  RELAY_BACKOFF_MS: ms(100, 10_000),
  ALLOWED_ORIGINS: OriginListSchema.optional(),
  TURN_SECRET: z.preprocess(unsetIfEmpty, z.string().min(16, "must be at least 16 characters (the TURN server's static-auth-secret)").optional()),
  TURN_URLS: z.preprocess(unsetIfEmpty, TurnUrlsSchema.optional()),
  TURN_TTL_S: z.coerce.number().int().min(60).max(86_400).default(DEFAULT_TURN_TTL_S),
  SESSION_IDLE_S: z.coerce.number().int().min(60).default(8 * 3600),
  SESSION_MAX_S: z.coerce.number().int().min(300).default(7 * 86_400),
  LOGIN_FAILURE_LIMIT: z.coerce.number().int().min(1).default(5),
  LOGIN_ADDRESS_FAILURE_LIMIT: z.coerce.number().int().min(1).default(30),
  LOGIN_FAILURE_WINDOW_S: z.coerce.number().int().min(1).default(15 * 60),
  LOGIN_ACCOUNT_CEILING: z.coerce.number().int().min(1).default(100),
  TRUST_CLIENT_ADDRESS_HEADER: z.preprocess(unsetIfEmpty, z.enum(['true', 'false'], { error: 'must be true or false' }).optional()),
  KEY_DEFAULT_MAX_CONCURRENT_SESSIONS: KeyDefaultSessionsSchema,
  OIDC_PROVIDERS: z.preprocess(unsetIfEmpty, json(z.array(OidcProviderSchema)).optional()),
  OIDC_ALLOWED_DOMAINS: z.preprocess(unsetIfEmpty, z.string().optional()),
  RECORDING_MAX_BYTES: z.coerce.number().int().min(1024).default(1024 ** 3),
  RECORDING_KEY_QUOTA_BYTES: z.coerce.number().int().min(1024).default(20 * 1024 ** 3),
  // Small enough to resend cheaply on a phone's network; a part of R2's multipart upload is the fewest chunks that make 5 MiB.
  RECORDING_CHUNK_BYTES: z.coerce.number().int().min(64 * 1024).max(16 * 1024 ** 2).default(1024 ** 2),
  // An upload that took no chunk for this long is abandoned: the scheduled sweep removes it (objects and rows).
  RECORDING_ABANDON_S: z.coerce.number().int().min(60).default(7 * 86_400),
  // ~40 ms of CPU per 1,000 rows through Hrana JSON: 200,000 rows stay well inside a request's CPU limit.
  EXPORT_INLINE_MAX_ROWS: z.coerce.number().int().min(1).default(DEFAULT_EXPORT_INLINE_MAX_ROWS),
}).superRefine((e, ctx) => {
  // Half a TURN setup would silently hand out no TURN server.
  if (e.TURN_SECRET && !e.TURN_URLS) ctx.addIssue({ code: 'custom', path: ['TURN_URLS'], message: 'is required when TURN_SECRET is set' });
  if (e.TURN_URLS && !e.TURN_SECRET) ctx.addIssue({ code: 'custom', path: ['TURN_SECRET'], message: 'is required when TURN_URLS is set (`wrangler secret put TURN_SECRET`)' });
  if (e.RELAY_SHARED_SECRET_PREVIOUS === e.RELAY_SHARED_SECRET) ctx.addIssue({ code: 'custom', path: ['RELAY_SHARED_SECRET_PREVIOUS'], message: 'must differ from RELAY_SHARED_SECRET (unset it once rotation is over)' });
});

/** The edge's settings, validated once per isolate. */
export interface EdgeConfig {
  libsqlUrl: string;
  libsqlAuthToken: string | undefined;
  /** RELAY_SHARED_SECRET (signs and verifies) and RELAY_SHARED_SECRET_PREVIOUS (verifies only, while rotating). */
  secrets: Secrets;
  mode: 'local' | 'deployed';
  /** The local demo key, shown on the placeholder page; always null in a deployment. */
  demoKey: string | null;
  /** Relay regions by colo or continent code, best first. */
  regionMap: Record<string, string[]>;
  iceServers: IceServer[];
  /** A relay whose heartbeat is older than this is not offered to clients. */
  relayFreshMs: number;
  maxBodyBytes: number;
  /** Failed key attempts allowed per client address and window before 429. */
  keyFailureLimit: number;
  keyFailureWindowMs: number;
  /** Bound on a create-peer call (the relay gathers candidates, ~2 s at most, before answering). */
  relayTimeoutMs: number;
  /** Bound on the first relay's call, and on any call to a relay with failures in a row: a black hole costs a client this much, not relayTimeoutMs. */
  relayFirstTimeoutMs: number;
  /** When a failing relay is skipped, and for how long (see shared/db/relay-health.ts). */
  breaker: BreakerPolicy;
  /** Origins besides the edge's own allowed to make state-changing calls; absent when ALLOWED_ORIGINS is not set. */
  allowedOrigins?: string[];
  /** Absent when TURN_SECRET/TURN_URLS are not set. */
  turn?: TurnConfig;
  /** Login sessions end after this long unused, and this long after login whatever happens. */
  session: { idleMs: number; maxMs: number };
  /**
   * Password checks allowed in a window before 429: per account from one address, per address, and per
   * account from everywhere (a ceiling far above the first, so a stranger cannot lock the owner out).
   */
  loginLimits: { account: number; address: number; accountCeiling: number; windowMs: number };
  /** Whether CF-Connecting-IP names the client: Cloudflare sets it in a deployment; anyone can send it to a local edge. */
  trustClientAddressHeader: boolean;
  /** max_concurrent_sessions of a key created without one; null: no limit. */
  keyDefaultMaxConcurrentSessions: number | null;
  oidc: { providers: OidcProvider[]; allowedDomains: string[] };
  /** Largest recording accepted, the storage each key may use, the upload chunk size, and when a silent upload is abandoned. */
  recordings: { maxBytes: number; keyQuotaBytes: number; chunkBytes: number; abandonMs: number };
  /** Exports with more rows than this are refused inline (413) and made by a background job instead. */
  exports: { inlineMaxRows: number };
}

/** A configured sign-in provider, with its client secret from `OIDC_SECRET_<ID>`. */
export interface OidcProvider {
  id: string;
  name: string;
  type: 'oidc' | 'github';
  /** The OpenID issuer; for GitHub, https://github.com. */
  issuer: string;
  clientId: string;
  clientSecret: string;
  scopes: string;
}

/** The env variable that holds a provider's client secret. */
export const oidcSecretVar = (id: string) => `OIDC_SECRET_${id.toUpperCase().replace(/-/g, '_')}`;

function oidcProviders(list: z.infer<typeof OidcProviderSchema>[], env: Record<string, unknown>): OidcProvider[] {
  const missing = list.filter((p) => typeof env[oidcSecretVar(p.id)] !== 'string' || !env[oidcSecretVar(p.id)]).map((p) => oidcSecretVar(p.id));
  if (missing.length) throw new ConfigError(`${missing.join(', ')}: required by OIDC_PROVIDERS (the provider's client secret; \`wrangler secret put ${missing[0]}\`)`);
  if (new Set(list.map((p) => p.id)).size !== list.length) throw new ConfigError('OIDC_PROVIDERS: provider ids must be unique');
  return list.map((p) => ({
    id: p.id,
    name: p.name ?? p.id,
    type: p.type,
    issuer: p.type === 'github' ? 'https://github.com' : p.issuer!.replace(/\/$/, ''),
    clientId: p.client_id,
    clientSecret: String(env[oidcSecretVar(p.id)]),
    scopes: p.scopes ?? (p.type === 'github' ? 'read:user user:email' : 'openid email profile'),
  }));
}

/** Validates the worker's env bindings; throws a ConfigError naming every bad variable. */
export function edgeConfigFromEnv(env: Record<string, unknown>): EdgeConfig {
  const e = parseConfig(EdgeEnvSchema, env as Record<string, string | undefined>);
  return {
    libsqlUrl: e.LIBSQL_URL,
    libsqlAuthToken: e.LIBSQL_AUTH_TOKEN,
    secrets: { current: e.RELAY_SHARED_SECRET, ...(e.RELAY_SHARED_SECRET_PREVIOUS ? { previous: e.RELAY_SHARED_SECRET_PREVIOUS } : {}) },
    mode: e.NETPOKE_MODE,
    demoKey: e.NETPOKE_MODE === 'local' ? (e.NETPOKE_DEMO_KEY ?? 'demo') : null,
    regionMap: Object.fromEntries(Object.entries(e.REGION_MAP).map(([k, v]) => [k, Array.isArray(v) ? v : [v]])),
    iceServers: e.ICE_SERVERS,
    relayFreshMs: e.RELAY_FRESH_MS,
    maxBodyBytes: e.MAX_BODY_BYTES,
    keyFailureLimit: e.KEY_FAILURE_LIMIT,
    keyFailureWindowMs: e.KEY_FAILURE_WINDOW_MS,
    relayTimeoutMs: e.RELAY_TIMEOUT_MS,
    relayFirstTimeoutMs: Math.min(e.RELAY_FIRST_TIMEOUT_MS, e.RELAY_TIMEOUT_MS),
    breaker: {
      failures: e.RELAY_BREAKER_FAILURES,
      backoffMs: e.RELAY_BACKOFF_MS,
      maxBackoffMs: e.RELAY_BACKOFF_MS * MAX_BACKOFF_FACTOR,
      // A recovery probe's outcome is known by then: the call, then the relay's open timeout (15 s) for a connection that never opens.
      probeHoldMs: Math.max(20_000, e.RELAY_TIMEOUT_MS),
    },
    ...(e.ALLOWED_ORIGINS?.length ? { allowedOrigins: e.ALLOWED_ORIGINS } : {}),
    ...(e.TURN_SECRET && e.TURN_URLS ? { turn: { secret: e.TURN_SECRET, urls: e.TURN_URLS, ttlS: e.TURN_TTL_S } } : {}),
    session: { idleMs: e.SESSION_IDLE_S * 1000, maxMs: e.SESSION_MAX_S * 1000 },
    loginLimits: { account: e.LOGIN_FAILURE_LIMIT, address: e.LOGIN_ADDRESS_FAILURE_LIMIT, accountCeiling: e.LOGIN_ACCOUNT_CEILING, windowMs: e.LOGIN_FAILURE_WINDOW_S * 1000 },
    trustClientAddressHeader: e.TRUST_CLIENT_ADDRESS_HEADER === undefined ? e.NETPOKE_MODE === 'deployed' : e.TRUST_CLIENT_ADDRESS_HEADER === 'true',
    keyDefaultMaxConcurrentSessions: e.KEY_DEFAULT_MAX_CONCURRENT_SESSIONS,
    oidc: {
      providers: oidcProviders(e.OIDC_PROVIDERS ?? [], env),
      allowedDomains: (e.OIDC_ALLOWED_DOMAINS ?? '').split(',').map((d) => d.trim().toLowerCase().replace(/^@/, '')).filter(Boolean),
    },
    recordings: { maxBytes: e.RECORDING_MAX_BYTES, keyQuotaBytes: e.RECORDING_KEY_QUOTA_BYTES, chunkBytes: e.RECORDING_CHUNK_BYTES, abandonMs: e.RECORDING_ABANDON_S * 1000 },
    exports: { inlineMaxRows: e.EXPORT_INLINE_MAX_ROWS },
  };
}

const cache = new WeakMap<object, EdgeConfig>();

/** The config for this isolate's env object: Workers hand env to each request, so it is parsed on first use and kept. */
export function configFor(env: object): EdgeConfig {
  let config = cache.get(env);
  if (!config) {
    config = edgeConfigFromEnv(env as Record<string, unknown>);
    cache.set(env, config);
  }
  return config;
}
