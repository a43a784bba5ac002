// The edge's schema check: one read of schema_migrations per isolate and database, not one per request.
import type { Db } from '../shared/db/client.js';
import { assertSchemaCurrent } from '../shared/db/schema-version.js';

/**
 * Databases (by URL) whose schema this isolate found current. Only the good
 * result is kept, as a plain value (a promise must not cross requests in
 * workerd): a behind or failed check is simply made again on the next request,
 * e.g. after `npm run migrate`. Requests that arrive together before the first
 * answer each read once.
 */
const current = new Set<string>();

/** Throws a SchemaBehindError when the database lacks a migration the edge carries; reads the database once per isolate. */
export async function ensureSchemaCurrent(db: Db, url: string): Promise<void> {
  if (current.has(url)) return;
  await assertSchemaCurrent(db, 'edge');
  current.add(url);
}

/** Forgets every good result: a query met a missing table or column, so the schema is behind after all (e.g. restored from a backup). */
export function forgetSchemaChecks(): void {
  current.clear();
}
