// `npm run keys -- create --label "Site A" --ttl 48h [--max-minutes 10] [--max-sessions 3] [--json]`,
// `npm run keys -- list [--json]`, `npm run keys -- revoke KEY`: magic keys, in the database named by
// LIBSQL_URL (+ LIBSQL_AUTH_TOKEN), else the local file ${NETPOKE_DATA_DIR:-./data}/netpoke.db.
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { createClient } from '@libsql/client';
import * as z from 'zod';
import { ConfigError, parseConfig } from '../shared/config.js';
import type { Db } from '../shared/db/client.js';
import { createMagicKey, keyState, listMagicKeys, revokeMagicKey, type MagicKey } from '../shared/db/keys.js';
import { migrate, withBusyRetry } from '../shared/db/migrate.js';
import { describeZodError } from '../shared/protocol/errors.js';
import { parseDuration } from './duration.js';

const USAGE = `usage:
  npm run keys -- create --label "Site A" --ttl 48h [--max-minutes 10] [--max-sessions 3] [--json]
  npm run keys -- list [--json]
  npm run keys -- revoke KEY
--ttl: how long the key works (e.g. 30m, 48h, 7d) or "never".`;

/** Bad arguments: reported with the usage, exit code 2. */
class UsageError extends Error {}

const EnvSchema = z.object({
  LIBSQL_URL: z.string().min(1).optional(),
  LIBSQL_AUTH_TOKEN: z.string().optional(),
  NETPOKE_DATA_DIR: z.string().min(1).default('./data'),
  /** The edge's public origin, for printing share links; locally the `npm start` URL. */
  NETPOKE_PUBLIC_URL: z.url().optional(),
});
type Env = z.infer<typeof EnvSchema>;

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
    env = parseConfig(EnvSchema, process.env);
  } catch (e) {
    console.error(`keys: ${(e as ConfigError).message}`);
    return 2;
  }
  try {
    const [command, ...rest] = argv;
    if (command === undefined) throw new UsageError('a command is required');
    if (command === 'help' || command === '--help' || command === '-h') {
      console.log(USAGE);
      return 0;
    }
    if (command === 'create') return await withDb(env, (db) => create(db, env, rest));
    if (command === 'list') return await withDb(env, (db) => list(db, rest));
    if (command === 'revoke') return await withDb(env, (db) => revoke(db, rest));
    throw new UsageError(`unknown command "${command}"`);
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`keys: ${e.message}\n${USAGE}`);
      return 2;
    }
    console.error(`keys: ${(e as Error).message ?? e}`);
    return 1;
  }
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
      maxConcurrentSessions: a['max-sessions'] ?? null,
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
  const origin = env.NETPOKE_PUBLIC_URL ?? (env.LIBSQL_URL ? null : 'http://127.0.0.1:8787');
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

type Options = NonNullable<Parameters<typeof parseArgs>[0]>['options'];

function parse<O extends Options>(args: string[], options: O, allowPositionals = false) {
  try {
    return parseArgs({ args, options, allowPositionals, strict: true });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

function validate<S extends z.ZodType>(schema: S, value: unknown, prefix: string): z.infer<S> {
  const r = schema.safeParse(value);
  if (!r.success) throw new UsageError(`${prefix}${describeZodError(r.error).replace(/^\(root\): /, '')}`);
  return r.data;
}

/** The database: LIBSQL_URL when set, else the local file (created and migrated on first use). */
async function withDb(env: Env, fn: (db: Db) => Promise<number>): Promise<number> {
  let url = env.LIBSQL_URL;
  if (!url) {
    const dir = resolve(env.NETPOKE_DATA_DIR);
    mkdirSync(dir, { recursive: true });
    url = pathToFileURL(join(dir, 'netpoke.db')).href;
  }
  const db = createClient({ url, authToken: env.LIBSQL_AUTH_TOKEN || undefined });
  try {
    await migrate(db);
    return await fn(db);
  } finally {
    db.close();
  }
}

process.exitCode = await main(process.argv.slice(2));
