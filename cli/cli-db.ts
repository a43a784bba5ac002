// The database the CLIs work on: LIBSQL_URL (+ LIBSQL_AUTH_TOKEN) when set, else the local file in the data dir.
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createClient } from '@libsql/client';
import * as z from 'zod';
import { parseConfig } from '../shared/config.js';
import { libsqlOptions } from '../shared/db/client-options.js';
import type { Db } from '../shared/db/client.js';
import { migrate } from '../shared/db/migrate.js';
import { assertSchemaCurrent } from '../shared/db/schema-version.js';

export const CliEnvSchema = z.object({
  LIBSQL_URL: z.string().min(1).optional(),
  LIBSQL_AUTH_TOKEN: z.string().optional(),
  NETPOKE_DATA_DIR: z.string().min(1).default('./data'),
  /** The edge's public origin, for printing links; unset, local links name `npm start`'s edge on NETPOKE_EDGE_PORT. */
  NETPOKE_PUBLIC_URL: z.url().optional(),
  NETPOKE_EDGE_PORT: z.coerce.number().int().min(1).max(65535).default(8787),
});
export type CliEnv = z.infer<typeof CliEnvSchema>;

/** Reads the CLI environment (throws a ConfigError naming a bad variable). */
export const cliEnv = (): CliEnv => parseConfig(CliEnvSchema, process.env);

/** The CLI's database: the one LIBSQL_URL names (`local` false), else the local file in the data dir (`local` true). */
export function openCliDb(env: CliEnv): { db: Db; local: boolean } {
  let url = env.LIBSQL_URL;
  const local = !url;
  if (!url) {
    const dir = resolve(env.NETPOKE_DATA_DIR);
    mkdirSync(dir, { recursive: true });
    url = pathToFileURL(join(dir, 'netpoke.db')).href;
  }
  return { db: createClient(libsqlOptions(url, env.LIBSQL_AUTH_TOKEN || undefined)), local };
}

/**
 * Runs `fn` on the database, closing it after. The local file is migrated on
 * the way (local mode sets itself up); a LIBSQL_URL database is only checked
 * (one read), and a schema behind the code refuses with words: migrating a
 * shared database is the deploy step `npm run migrate`, never a side effect.
 */
export async function withCliDb(env: CliEnv, fn: (db: Db) => Promise<number>): Promise<number> {
  const { db, local } = openCliDb(env);
  try {
    if (local) await migrate(db);
    else await assertSchemaCurrent(db, 'CLI');
    return await fn(db);
  } finally {
    db.close();
  }
}
