// Run as a child process by migrations.test.ts: holds a read transaction on the file named in argv (SQLite's shared
// lock, in rollback-journal mode) for argv[3] ms, saying "locked" once it holds it.
import { createClient } from '@libsql/client';

const db = createClient({ url: `file:${process.argv[2]}` });
const tx = await db.transaction('read');
await tx.execute('SELECT COUNT(*) FROM sqlite_master');
process.stdout.write('locked\n');
setTimeout(() => {
  void tx.rollback().finally(() => {
    tx.close();
    db.close();
  });
}, Number(process.argv[3]));
