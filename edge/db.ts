import { createClient } from '@libsql/client/web';
import type { Db } from '../shared/db/client.js';
import type { EdgeConfig } from './config.js';

/**
 * A database client for one request. The web client speaks libSQL over
 * HTTP with fetch and holds no connection, so a fresh one per request is
 * cheap and never carries I/O across requests (which workerd forbids).
 */
export function openDb(config: EdgeConfig): Db {
  return createClient({ url: config.libsqlUrl, authToken: config.libsqlAuthToken }) as Db;
}

/** Runs `fn` with a request's database client and closes it after. */
export async function withDb<T>(config: EdgeConfig, fn: (db: Db) => Promise<T>): Promise<T> {
  const db = openDb(config);
  try {
    return await fn(db);
  } finally {
    db.close();
  }
}
