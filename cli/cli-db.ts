// The database the CLIs work on: LIBSQL_URL (+ LIBSQL_AUTH_TOKEN) when set, else the local file in the data dir.
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createClient } from '@libsql/client';
import * as z from 'zod';
import { parseConfig } from '../shared/config.js';
import type { Db } from '../shared/db/client.js';
import { migrate } from '../shared/db/migrate.js';

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

/** Runs `fn` on the database (created and migrated on first use), closing it after. */
export async function withCliDb(env: CliEnv, fn: (db: Db) => Promise<number>): Promise<number> {
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
