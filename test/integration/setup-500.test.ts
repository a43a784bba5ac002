// Connection set-up is reliable: 500 sequential connections through the edge (Miniflare) to one real relay, each
// opening all three channels, with no retry anywhere. Every failure is a test failure, logged with its cause.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NodeRTCPeerConnection } from '../../cli/node-peer-connection.js';
import { openConnection } from '../../client/connection.js';
import { edgeSignal } from '../../client/signaling.js';
import type { RelayHandle } from '../../relay/relay.js';
import { createMagicKey } from '../../shared/db/keys.js';
import { startTestEdge, type TestEdge } from '../helpers/edge.js';
import { eventually, startTestDb, startTestRelay, type TestDb } from '../helpers/system.js';

const CONNECTIONS = 500;

let db: TestDb;
let relay: RelayHandle;
let edge: TestEdge;
let key: string;

beforeAll(async () => {
  db = await startTestDb();
  relay = await startTestRelay(db);
  edge = await startTestEdge({ libsqlUrl: db.url, libsqlAuthToken: db.authToken });
  // No concurrency or time limit on the key: only set-up itself is under test.
  key = (await createMagicKey(db.db, { label: 'setup-500', ttlMs: 3_600_000 })).key;
});

afterAll(async () => {
  await relay?.close();
  await edge?.close();
  await db?.close();
});

describe('connection set-up', () => {
  it(`opens ${CONNECTIONS} connections in a row through the edge, every one with its three channels, none retried`, async () => {
    const failures: string[] = [];
    const signal = edgeSignal(edge.url, key);
    const started = Date.now();
    for (let i = 0; i < CONNECTIONS; i++) {
      const at = Date.now();
      try {
        const conn = await openConnection({ RTCPeerConnection: NodeRTCPeerConnection, signal, connId: crypto.randomUUID(), iceTimeoutMs: 10_000 });
        const states = Object.values(conn.channels).map((c: RTCDataChannel) => `${c.label}:${c.readyState}`);
        conn.close();
        if (states.join(' ') !== 'probe:open bulk:open control:open') failures.push(`#${i}: resolved with channels ${states.join(' ')}`);
      } catch (e) {
        const cause = `#${i} after ${Date.now() - at} ms: ${(e as { code?: string }).code ?? 'no code'}: ${(e as Error)?.message ?? String(e)}`;
        console.error(`set-up failed ${cause}`);
        failures.push(cause);
      }
    }
    console.log(`${CONNECTIONS} connections in ${((Date.now() - started) / 1000).toFixed(1)} s, ${failures.length} failed`);
    expect(failures).toEqual([]);
    // Every connection was released on the relay and in the database, none left behind.
    await eventually(async () => relay.activePeers() === 0);
    await eventually(async () => Number((await db.db.execute('SELECT COUNT(*) AS n FROM relay_peers WHERE closed_at IS NULL')).rows[0]?.n) === 0);
    const opened = Number((await db.db.execute({ sql: 'SELECT COUNT(*) AS n FROM relay_peers WHERE magic_key = ?', args: [key] })).rows[0]?.n);
    expect(opened).toBe(CONNECTIONS);
  }, 240_000);
});
