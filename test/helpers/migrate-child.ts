// Run as a child process by migrations.test.ts: migrates the file named in argv and prints what it applied.
import { createClient } from '@libsql/client';
import { libsqlOptions } from '../../shared/db/client-options.js';
import { migrate } from '../../shared/db/migrate.js';

const db = createClient(libsqlOptions(`file:${process.argv[2]}`));
const applied = await migrate(db);
process.stdout.write(JSON.stringify(applied));
db.close();
