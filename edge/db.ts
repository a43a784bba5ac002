import { createClient } from '@libsql/client/web';
import type { Db } from '../shared/db/client.js';
import type { EdgeConfig } from './config.js';
import { ensureSchemaCurrent } from './schema-check.js';

/**
 * A database client for one request. The web client speaks libSQL over
 * HTTP with fetch and holds no connection, so a fresh one per request is
 * cheap and never carries I/O across requests (which workerd forbids).
 * The isolate's first use checks the schema (a SchemaBehindError, answered 503 schema_behind, when
 * it is older than the edge); later ones cost nothing extra.
 */
export async function openDb(config: EdgeConfig): Promise<Db> {
  const db = createClient({ url: config.libsqlUrl, authToken: config.libsqlAuthToken }) as Db;
  try {
    await ensureSchemaCurrent(db, config.libsqlUrl);
  } catch (e) {
    db.close();
    throw e;
  }
  return db;
}

/** Runs `fn` with a request's database client and closes it after. */
export async function withDb<T>(config: EdgeConfig, fn: (db: Db) => Promise<T>): Promise<T> {
  const db = await openDb(config);
  try {
    return await fn(db);
  } finally {
    db.close();
  }
}
