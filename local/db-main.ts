// `npm run db`: serves the local database file alone (what `npm start` runs first), until Ctrl-C, or until
// the `npm start` that started it is gone. It serves the file as it is: `npm start` (or `npm run migrate`) migrates it.
import { join } from 'node:path';
import * as z from 'zod';
import { parseConfig } from '../shared/config.js';
import { startHranaServer } from './hrana-server.js';
import { ownerOnlyFromNowOn, prepareDataDir } from './data-dir.js';
import { whenParentGone } from './parent-watch.js';
import { localDbToken } from './secrets.js';

const env = parseConfig(
  z.object({
    NETPOKE_DATA_DIR: z.string().min(1).default('./data'),
    NETPOKE_DB_PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  }),
  process.env,
);
ownerOnlyFromNowOn();
prepareDataDir(env.NETPOKE_DATA_DIR);
// The same token `npm start` uses for this data dir.
const authToken = localDbToken(env.NETPOKE_DATA_DIR);
const server = await startHranaServer({ dbPath: join(env.NETPOKE_DATA_DIR, 'netpoke.db'), port: env.NETPOKE_DB_PORT, authToken });
console.log(`libSQL (local, loopback only) at ${server.url}; clients need LIBSQL_AUTH_TOKEN=$(cat ${join(env.NETPOKE_DATA_DIR, 'db-token')})`);
/** Closing takes milliseconds (connections are cut); the bound is for a stop that must not leave this process behind. */
const STOP_BOUND_MS = 2_000;
const stop = () => {
  setTimeout(() => process.exit(0), STOP_BOUND_MS).unref();
  void server.close().then(() => process.exit(0));
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
whenParentGone(stop);
