// The headless client (the real `npm run probe` CLI, through the edge in workerd) outlives its relay: a relay that
// closes mid-survey, or a relay process killed outright, ends the CLI with exit code 1 and a sentence, never a crash.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRelayProcess, type RelayProcess } from '../../bench/relay-process.js';
import type { RelayHandle } from '../../relay/relay.js';
import { createMagicKey } from '../../shared/db/keys.js';
import { startTestEdge, type TestEdge } from '../helpers/edge.js';
import { runProbeCli, within } from '../helpers/probe-cli.js';
import { startTestDb, startTestRelay, type TestDb } from '../helpers/system.js';

let db: TestDb;
let edge: TestEdge;
let key: string;

beforeAll(async () => {
  db = await startTestDb();
  edge = await startTestEdge({ libsqlUrl: db.url, libsqlAuthToken: db.authToken });
  key = (await createMagicKey(db.db, { label: 'relay death', ttlMs: 3_600_000 })).key;
});

afterAll(async () => {
  await edge?.close();
  await db?.close();
});

/** Runs the CLI against the edge for 20 s. */
const runCli = () => runProbeCli(edge.url, key);

function expectNoCrash(stderr: string): void {
  expect(stderr).not.toMatch(/Uncaught|unhandled|\n\s+at .+:\d+:\d+/i);
  expect(stderr).not.toMatch(/^\w*Error:/m);
}

describe('the headless client when its relay goes away', () => {
  it('a relay that closes mid-survey: exit 1, "the connection to the measurement server dropped", no crash', async () => {
    let relay: RelayHandle | null = await startTestRelay(db);
    try {
      const run = runCli();
      await within(30_000, run.measuring, run, 'first measured second');
      await relay.close();
      relay = null;
      // Well before the 20 s duration: the closed channels end it.
      const out = await within(10_000, run.exited, run, 'CLI exit');
      expect(out.code, out.stderr).toBe(1);
      expect(out.stderr).toMatch(/netpoke: channel_closed: the connection to the measurement server dropped/);
      expectNoCrash(out.stderr);
      expect(out.stdout).not.toMatch(/stopped by duration/);
    } finally {
      await relay?.close();
    }
  }, 60_000);

  it('a relay process killed mid-survey (SIGKILL, not a word to the client): exit 1 with a sentence, no crash', async () => {
    let relay: RelayProcess | null = await startRelayProcess(db.url, db.authToken, db.dir);
    try {
      const run = runCli();
      await within(30_000, run.measuring, run, 'first measured second');
      relay.child.kill('SIGKILL');
      await relay.stop();
      relay = null;
      // ICE would notice only after its 30 s consent timeout; the client notices the silence.
      const out = await within(15_000, run.exited, run, 'CLI exit');
      expect(out.code, out.stderr).toBe(1);
      expect(out.stderr).toMatch(/netpoke: channel_closed: the connection to the measurement server dropped: nothing has arrived from it for \d+ s/);
      expectNoCrash(out.stderr);
      expect(out.stdout).not.toMatch(/stopped by duration/);
    } finally {
      await relay?.stop();
    }
  }, 60_000);
});
