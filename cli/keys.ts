// `npm run keys -- create --label "Site A" --ttl 48h [--max-minutes 10] [--max-sessions 3] [--json]` (no
// --max-sessions: KEY_DEFAULT_MAX_CONCURRENT_SESSIONS, 4),
// `npm run keys -- list [--json]`, `npm run keys -- revoke KEY`: magic keys, in the database named by
// LIBSQL_URL (+ LIBSQL_AUTH_TOKEN), else the local file ${NETPOKE_DATA_DIR:-./data}/netpoke.db.
import * as z from 'zod';
import { parseConfig, type ConfigError } from '../shared/config.js';
import type { Db } from '../shared/db/client.js';
import { createMagicKey, keyState, listMagicKeys, revokeMagicKey, type MagicKey } from '../shared/db/keys.js';
import { withBusyRetry } from '../shared/db/migrate.js';
import { parse, runCli, UsageError, validate } from './args.js';
import { KeyDefaultSessionsSchema } from '../shared/key-defaults.js';
import { CliEnvSchema, withCliDb } from './cli-db.js';
import { parseDuration } from './duration.js';

const USAGE = `usage:
  npm run keys -- create --label "Site A" --ttl 48h [--max-minutes 10] [--max-sessions 3] [--json]
  npm run keys -- list [--json]
  npm run keys -- revoke KEY
--ttl: how long the key works (e.g. 30m, 48h, 7d) or "never".
--max-sessions: concurrent connections (default: KEY_DEFAULT_MAX_CONCURRENT_SESSIONS, 4).`;

const KeysEnvSchema = CliEnvSchema.extend({ KEY_DEFAULT_MAX_CONCURRENT_SESSIONS: KeyDefaultSessionsSchema });
type Env = z.infer<typeof KeysEnvSchema>;

const MAX_TTL_MS = 366 * 86_400_000;

const CreateSchema = z.object({
  label: z.string({ error: 'is required (e.g. --label "Site A")' }).trim().min(1, 'must not be empty').max(200),
  ttl: z.string({ error: 'is required: a duration like 48h or 7d, or "never"' }).transform((s, ctx) => {
    if (s.trim() === 'never') return null;
    const ms = parseDuration(s);
    if (ms === null || ms < 60_000 || ms > MAX_TTL_MS) {
      ctx.addIssue({ code: 'custom', message: 'a duration like 30m, 48h or 7d (1 minute .. 366 days), or "never"' });
      return z.NEVER;
    }
    return ms;
  }),
  'max-minutes': z.coerce.number().positive().max(24 * 60).optional(),
  'max-sessions': z.coerce.number().int().min(1).max(10_000).optional(),
  json: z.boolean(),
});

const KeyArgSchema = z.string({ error: 'is required: the key to revoke' }).trim().min(1, 'must not be empty').max(256);

/** Runs one command; returns the exit code (0 ok, 1 failed, 2 bad arguments). */
async function main(argv: string[]): Promise<number> {
  let env: Env;
  try {
    env = parseConfig(KeysEnvSchema, process.env);
  } catch (e) {
    console.error(`keys: ${(e as ConfigError).message}`);
    return 2;
  }
  return runCli('keys', USAGE, argv, {
    create: (rest) => withCliDb(env, (db) => create(db, env, rest)),
    list: (rest) => withCliDb(env, (db) => list(db, rest)),
    revoke: (rest) => withCliDb(env, (db) => revoke(db, rest)),
  });
}

async function create(db: Db, env: Env, args: string[]): Promise<number> {
  const { values } = parse(args, {
    label: { type: 'string' },
    ttl: { type: 'string' },
    'max-minutes': { type: 'string' },
    'max-sessions': { type: 'string' },
    json: { type: 'boolean', default: false },
  });
  const a = validate(CreateSchema, values, '--');
  const key = await withBusyRetry(() =>
    createMagicKey(db, {
      label: a.label,
      ttlMs: a.ttl,
      maxMeasuringMs: a['max-minutes'] === undefined ? null : Math.round(a['max-minutes'] * 60_000),
      maxConcurrentSessions: a['max-sessions'] ?? env.KEY_DEFAULT_MAX_CONCURRENT_SESSIONS,
    }),
  );
  if (a.json) {
    console.log(JSON.stringify(describe(key)));
    return 0;
  }
  const limits = [
    key.max_measuring_ms === null ? null : `${key.max_measuring_ms / 60_000} min of measuring per session`,
    key.max_concurrent_sessions === null ? null : `${key.max_concurrent_sessions} concurrent connection(s)`,
  ].filter(Boolean);
  console.log(`created key "${key.label}"`);
  console.log(`  key      ${key.key}`);
  console.log(`  expires  ${key.expires_at === null ? 'never' : new Date(key.expires_at).toISOString()}`);
  console.log(`  limits   ${limits.length ? limits.join(', ') : 'none'}`);
  const origin = env.NETPOKE_PUBLIC_URL ?? (env.LIBSQL_URL ? null : `http://127.0.0.1:${env.NETPOKE_EDGE_PORT}`);
  if (origin) console.log(`  link     ${origin.replace(/\/+$/, '')}/?key=${encodeURIComponent(key.key)}`);
  return 0;
}

async function list(db: Db, args: string[]): Promise<number> {
  const { values } = parse(args, { json: { type: 'boolean', default: false } });
  const keys = (await listMagicKeys(db)).map((k) => describe(k));
  if (values.json) {
    console.log(JSON.stringify(keys));
    return 0;
  }
  if (keys.length === 0) {
    console.log('no keys yet: npm run keys -- create --label "Site A" --ttl 48h');
    return 0;
  }
  const date = (ms: number | null) => (ms === null ? '-' : new Date(ms).toISOString().slice(0, 16).replace('T', ' '));
  const rows = [
    ['KEY', 'LABEL', 'STATE', 'CREATED', 'EXPIRES', 'MAX MIN', 'MAX CONN'],
    ...keys.map((k) => [
      k.key,
      k.label,
      k.state,
      date(k.created_at),
      date(k.expires_at),
      k.max_measuring_ms === null ? '-' : String(k.max_measuring_ms / 60_000),
      k.max_concurrent_sessions === null ? '-' : String(k.max_concurrent_sessions),
    ]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const r of rows) console.log(r.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd());
  return 0;
}

async function revoke(db: Db, args: string[]): Promise<number> {
  const { positionals } = parse(args, {}, true);
  if (positionals.length > 1) throw new UsageError('revoke takes one key');
  const key = validate(KeyArgSchema, positionals[0], 'KEY: ');
  if (!(await withBusyRetry(() => revokeMagicKey(db, key)))) {
    console.error('keys: no such key');
    return 1;
  }
  console.log('revoked');
  return 0;
}

/** A key as the CLI shows it, with its state now. */
function describe(k: MagicKey) {
  const state = keyState(k);
  return { ...k, state: state === 'valid' ? 'valid' : state.replace(/^key_/, '') };
}

process.exitCode = await main(process.argv.slice(2));
