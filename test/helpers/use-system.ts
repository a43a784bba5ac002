// Vitest lifecycle around system.ts (kept apart so the bench can import system.ts without vitest).
import { afterAll, beforeAll } from 'vitest';
import type { RelayConfig } from '../../relay/config.js';
import type { RelayHandle } from '../../relay/relay.js';
import { startDbProxy, type DbProxy } from './db-proxy.js';
import { startTestEdge, type TestEdge, type TestEdgeOptions } from './edge.js';
import { startTestDb, startTestRelay, type TestDb } from './system.js';

/** A database and a relay started before a test file's tests and stopped after them. */
export function useDbAndRelay(overrides: Partial<RelayConfig> = {}): { readonly db: TestDb; readonly relay: RelayHandle } {
  const parts = {} as { db: TestDb; relay: RelayHandle };
  beforeAll(async () => {
    parts.db = await startTestDb();
    parts.relay = await startTestRelay(parts.db, overrides);
  });
  afterAll(async () => {
    await parts.relay?.close();
    await parts.db?.close();
  });
  return parts;
}

/** A database, a relay and the edge in workerd on them, started before a test file's tests and stopped after them. */
export function useEdgeSystem(overrides: Partial<RelayConfig> = {}): { readonly db: TestDb; readonly relay: RelayHandle; readonly edge: TestEdge } {
  const parts = {} as { db: TestDb; relay: RelayHandle; edge: TestEdge };
  beforeAll(async () => {
    parts.db = await startTestDb();
    parts.relay = await startTestRelay(parts.db, overrides);
    parts.edge = await startTestEdge({ libsqlUrl: parts.db.url, libsqlAuthToken: parts.db.authToken });
  });
  afterAll(async () => {
    await parts.edge?.close();
    await parts.relay?.close();
    await parts.db?.close();
  });
  return parts;
}

/** A database, and the edge in workerd reaching it through a proxy that can hold answers back (races played in a fixed order). */
export function useEdgeOverDbProxy(opts: Omit<TestEdgeOptions, 'libsqlUrl' | 'libsqlAuthToken'>): { readonly db: TestDb; readonly proxy: DbProxy; readonly edge: TestEdge } {
  const parts = {} as { db: TestDb; proxy: DbProxy; edge: TestEdge };
  beforeAll(async () => {
    parts.db = await startTestDb();
    parts.proxy = await startDbProxy(parts.db.url);
    parts.edge = await startTestEdge({ ...opts, libsqlUrl: parts.proxy.url, libsqlAuthToken: parts.db.authToken });
  }, 60_000);
  afterAll(async () => {
    await parts.edge?.close();
    await parts.proxy?.close();
    await parts.db?.close();
  });
  return parts;
}
