// `npm run db`: serves the local database file alone (what `npm start` runs first), until Ctrl-C.
import { join } from 'node:path';
import * as z from 'zod';
import { createClient } from '@libsql/client';
import { parseConfig } from '../shared/config.js';
import { migrate } from '../shared/db/migrate.js';
import { startHranaServer } from './hrana-server.js';
import { ownerOnlyFromNowOn, prepareDataDir } from './data-dir.js';
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
const db = createClient({ url: server.url, authToken });
await migrate(db);
db.close();
console.log(`libSQL (local, loopback only) at ${server.url}; clients need LIBSQL_AUTH_TOKEN=$(cat ${join(env.NETPOKE_DATA_DIR, 'db-token')})`);
const stop = () => void server.close().then(() => process.exit(0));
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
