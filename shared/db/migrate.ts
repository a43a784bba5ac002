import type { Db } from './client.js';
import { MIGRATIONS, type Migration } from './migrations.js';
import { schemaStatus } from './schema-version.js';

/** Applies pending migrations in order, each exactly once, safely when several processes race; returns the versions it applied. */
export async function migrate(db: Db, migrations: readonly Migration[] = MIGRATIONS): Promise<number[]> {
  // One read first: a current schema costs no write lock at all.
  const pending = new Set((await withBusyRetry(() => schemaStatus(db, migrations))).missing);
  if (pending.size === 0) return [];
  await withBusyRetry(() =>
    db.execute('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)'),
  );
  const applied: number[] = [];
  for (const m of [...migrations].filter((m) => pending.has(m.version)).sort((a, b) => a.version - b.version)) {
    // A write transaction takes the database's write lock before reading, so two processes cannot both see a
    // version as missing and both apply it. Its COMMIT may still meet another process's read lock (SQLITE_BUSY),
    // which ends the transaction with nothing written: the whole step is tried again. (NetPoke's file connections
    // wait out such a lock inside SQLite first, libsqlOptions in client-options.ts: a failed COMMIT on a file can
    // leave this process unable to write it at all.)
    const done = await withBusyRetry(async () => {
      const tx = await db.transaction('write');
      try {
        const seen = await tx.execute({ sql: 'SELECT 1 FROM schema_migrations WHERE version = ?', args: [m.version] });
        if (seen.rows.length > 0) {
          await tx.rollback();
          return false;
        }
        for (const sql of m.statements) await tx.execute(sql);
        await tx.execute({
          sql: 'INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)',
          args: [m.version, m.name, Date.now()],
        });
        await tx.commit();
        return true;
      } finally {
        tx.close();
      }
    });
    if (done) applied.push(m.version);
  }
  return applied;
}

/** "11 audit_log, 12 object_storage": versions with their names, for saying what was applied. */
export function describeMigrations(versions: readonly number[], migrations: readonly Migration[] = MIGRATIONS): string {
  return versions.map((v) => `${v} ${migrations.find((m) => m.version === v)?.name ?? '(unknown)'}`).join(', ');
}

/** Retries `fn` while the database answers SQLITE_BUSY (another process holds the write lock), for about 35 s: four processes starting at once on a loaded machine held it for over 11 s in CI. */
export async function withBusyRetry<T>(fn: () => Promise<T>, attempts = 150): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (e) {
      const code = String((e as { code?: unknown }).code ?? '');
      if (!code.startsWith('SQLITE_BUSY') || i >= attempts) throw e;
      await new Promise((r) => setTimeout(r, Math.min(20 * i, 250)));
    }
  }
}
