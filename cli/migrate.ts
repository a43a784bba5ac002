// `npm run migrate`: the deploy step that brings the database named by LIBSQL_URL (+ LIBSQL_AUTH_TOKEN),
// else the local file ${NETPOKE_DATA_DIR:-./data}/netpoke.db, up to this code's schema, printing what it applied.
// Relays, the edge and the CLIs only check the version; this is the one thing that changes it.
import type { ConfigError } from '../shared/config.js';
import { describeMigrations, migrate } from '../shared/db/migrate.js';
import { schemaStatus } from '../shared/db/schema-version.js';
import { parse, UsageError } from './args.js';
import { cliEnv, openCliDb, type CliEnv } from './cli-db.js';

const USAGE = `usage: npm run migrate
Applies the pending schema migrations to the database named by LIBSQL_URL (+ LIBSQL_AUTH_TOKEN),
or to the local file in NETPOKE_DATA_DIR (default ./data) when LIBSQL_URL is unset.`;

async function main(argv: string[]): Promise<number> {
  let env: CliEnv;
  try {
    parse(argv, {});
    env = cliEnv();
  } catch (e) {
    console.error(`migrate: ${(e as UsageError | ConfigError).message}${e instanceof UsageError ? `\n${USAGE}` : ''}`);
    return 2;
  }
  const { db, local } = openCliDb(env);
  // Never the URL itself: a libsql URL may carry its token as a query parameter.
  const where = local ? `the local database in ${env.NETPOKE_DATA_DIR}` : 'the database at LIBSQL_URL';
  try {
    const applied = await migrate(db);
    const { at } = await schemaStatus(db);
    console.log(applied.length ? `migrate: applied ${describeMigrations(applied)} to ${where}; its schema is now at ${at}` : `migrate: nothing to apply; ${where} is at ${at}`);
    return 0;
  } catch (e) {
    console.error(`migrate: ${where}: ${(e as Error).message}`);
    return 1;
  } finally {
    db.close();
  }
}

process.exitCode = await main(process.argv.slice(2));
