// What a relay's GET /ready decides, against a real database: draining, registration (its own row), a database
// that is down, and one that accepts connections and never answers.
import { createServer, type Socket } from 'node:net';
import { createClient } from '@libsql/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { upsertRelay } from '../../shared/db/relays.js';
import { checkReadiness } from '../../relay/readiness.js';
import { startTestDb, type TestDb } from '../helpers/system.js';

let db: TestDb;

beforeAll(async () => {
  db = await startTestDb();
  const row = { region: 'local', public_address: '127.0.0.1:50000', internal_url: 'http://127.0.0.1:1', capacity: 10, active_sessions: 0, started_at: Date.now() };
  await upsertRelay(db.db, { ...row, id: 'live', last_heartbeat: Date.now() });
  await upsertRelay(db.db, { ...row, id: 'left', last_heartbeat: 0 });
});

afterAll(async () => {
  await db?.close();
});

const check = (relayId: string, over: { draining?: boolean; registered?: boolean } = {}) =>
  checkReadiness({ db: db.db, relayId, draining: () => over.draining ?? false, registered: () => over.registered ?? true });

describe('relay readiness', () => {
  it('is ready when registered with a live row and the database answers', async () => {
    expect(await check('live')).toEqual({ ready: true });
  });

  it('is not ready while draining, before it registered, or when its row is gone or deregistered', async () => {
    expect(await check('live', { draining: true })).toMatchObject({ ready: false, reason: 'draining' });
    expect(await check('live', { registered: false })).toMatchObject({ ready: false, reason: 'not_registered' });
    expect(await check('left')).toMatchObject({ ready: false, reason: 'not_registered' });
    expect(await check('nobody')).toMatchObject({ ready: false, reason: 'not_registered' });
  });

  it('is not ready when the database is down, and says so without its error text', async () => {
    await db.stop();
    try {
      const r = await check('live');
      expect(r).toEqual({ ready: false, reason: 'database_unreachable', message: 'the database read failed' });
    } finally {
      await db.restart();
    }
  });

  it('is not ready, within its bound, when the database accepts the connection and never answers', async () => {
    const sockets = new Set<Socket>();
    const blackHole = createServer((s) => sockets.add(s));
    await new Promise<void>((r) => blackHole.listen(0, '127.0.0.1', () => r()));
    const { port } = blackHole.address() as { port: number };
    const silent = createClient({ url: `http://127.0.0.1:${port}` });
    try {
      const started = Date.now();
      const r = await checkReadiness({ db: silent, relayId: 'live', draining: () => false, registered: () => true, timeoutMs: 300 });
      expect(r).toEqual({ ready: false, reason: 'database_unreachable', message: 'the database did not answer within 300 ms' });
      expect(Date.now() - started).toBeLessThan(2_000);
    } finally {
      silent.close();
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => blackHole.close(() => r()));
    }
  });
});
