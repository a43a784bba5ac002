// Whether a database's schema is as new as this code: one read of schema_migrations, no writes.
import type { Db } from './client.js';
import { MIGRATIONS, type Migration } from './migrations.js';

/** The schema version this code needs: the newest migration it carries (never a literal, so new migrations move it). */
export const SCHEMA_VERSION = Math.max(...MIGRATIONS.map((m) => m.version));

/** What the database holds against what the code needs. */
export interface SchemaStatus {
  /** The newest version applied (0 for an empty database). */
  at: number;
  /** The newest version the code carries. */
  needs: number;
  /** Versions the code carries that the database lacks, oldest first. */
  missing: number[];
}

/** A database older than the code: the process must not start (or, on the edge, must answer schema_behind). */
export class SchemaBehindError extends Error {
  constructor(
    readonly status: SchemaStatus,
    who: string,
  ) {
    super(schemaBehindMessage(status, who));
    this.name = 'SchemaBehindError';
  }
}

/** Reads the applied versions with one query (a database without schema_migrations is at 0). */
export async function schemaStatus(db: Db, migrations: readonly Migration[] = MIGRATIONS): Promise<SchemaStatus> {
  let applied: Set<number>;
  try {
    const rs = await db.execute('SELECT version FROM schema_migrations');
    applied = new Set(rs.rows.map((r) => Number(r.version)));
  } catch (e) {
    if (!isSchemaMissingError(e)) throw e;
    applied = new Set();
  }
  const known = migrations.map((m) => m.version).sort((a, b) => a - b);
  return {
    at: applied.size ? Math.max(...applied) : 0,
    needs: known.length ? known[known.length - 1]! : 0,
    missing: known.filter((v) => !applied.has(v)),
  };
}

/** The words an operator reads when the schema is behind: where it is, what is needed, what to run. */
export function schemaBehindMessage(status: SchemaStatus, who: string): string {
  // A hole below the newest applied version (a migration skipped, e.g. branches merged out of order) is named too.
  const holes = status.missing.filter((v) => v < status.at);
  const gap = holes.length ? ` (migration${holes.length > 1 ? 's' : ''} ${holes.join(', ')} missing)` : '';
  return `database schema is at ${status.at}${gap}, this ${who} needs ${status.needs}: run npm run migrate`;
}

/** Throws a SchemaBehindError naming `who` (e.g. "relay") unless every migration the code carries is applied. */
export async function assertSchemaCurrent(db: Db, who: string, migrations: readonly Migration[] = MIGRATIONS): Promise<void> {
  const status = await schemaStatus(db, migrations);
  if (status.missing.length) throw new SchemaBehindError(status, who);
}

/** Whether a database error says a table or column does not exist: the schema is older than the query. */
export function isSchemaMissingError(e: unknown): boolean {
  for (let err = e, depth = 0; err && depth < 4; err = (err as { cause?: unknown }).cause, depth++) {
    if (/no such (table|column)|has no column named/i.test(String((err as { message?: unknown }).message ?? ''))) return true;
  }
  return false;
}
