// The real `npm run probe` CLI through the edge in workerd, against a relay that traces paths: it prints the trace.
// On loopback the client is one hop away and never answers the probes (its WebRTC stack holds the port).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_PATH_TRACE_CONFIG } from '../../relay/path-trace/path-tracer.js';
import type { RelayHandle } from '../../relay/relay.js';
import { createMagicKey } from '../../shared/db/keys.js';
import { startTestEdge, type TestEdge } from '../helpers/edge.js';
import { runProbeCli, within } from '../helpers/probe-cli.js';
import { startTestDb, startTestRelay, type TestDb } from '../helpers/system.js';

let db: TestDb;
let edge: TestEdge;
let relay: RelayHandle;

beforeAll(async () => {
  db = await startTestDb();
  relay = await startTestRelay(db, { pathTrace: { ...DEFAULT_PATH_TRACE_CONFIG, nameTimeoutMs: 0, settings: { probesPerHop: 2, maxHops: 3, probeTimeoutS: 1, probeSize: 64 } } });
  edge = await startTestEdge({ libsqlUrl: db.url, libsqlAuthToken: db.authToken });
});

afterAll(async () => {
  await edge?.close();
  await relay?.close();
  await db?.close();
});

describe('npm run probe with a relay that traces paths', () => {
  it('prints the hop table and the path MTU', async () => {
    const key = (await createMagicKey(db.db, { label: 'trace' })).key;
    const run = runProbeCli(edge.url, key, '6s');
    const out = await within(40_000, run.exited, run, 'CLI exit');
    expect(out.code, out.stderr).toBe(0);
    const block = /path toward this client \(from the relay\):\n((?: {2}.*\n)+)/.exec(out.stdout)?.[1];
    expect(block, out.stdout).toBeDefined();
    expect(block!.split('\n')[0]).toMatch(/^ {2}hop\s+address\s+RTT p50 \/ max ms\s+loss$/);
    // The one hop, the client itself, silent; the largest MTU probed (1500 bytes).
    expect(block).toMatch(/^ {2}1\s+\*\s+–\s+100\.0 %$/m);
    expect(block).toMatch(/^ {2}path MTU 1500$/m);
  }, 60_000);
});
