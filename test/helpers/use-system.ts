// Vitest lifecycle around system.ts (kept apart so the bench can import system.ts without vitest).
import { afterAll, beforeAll } from 'vitest';
import type { RelayConfig } from '../../relay/config.js';
import type { RelayHandle } from '../../relay/relay.js';
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
