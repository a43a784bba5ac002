// The real `npm run probe` CLI, through the edge in workerd, with a key whose measuring time runs out mid-survey:
// it says so in words, stops the survey as Stop does (capture saved) and exits 0.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RelayHandle } from '../../relay/relay.js';
import { createMagicKey } from '../../shared/db/keys.js';
import { startTestEdge, type TestEdge } from '../helpers/edge.js';
import { runProbeCli, within } from '../helpers/probe-cli.js';
import { eventually, startTestDb, startTestRelay, type TestDb } from '../helpers/system.js';

let db: TestDb;
let edge: TestEdge;
let relay: RelayHandle;

beforeAll(async () => {
  db = await startTestDb();
  relay = await startTestRelay(db);
  edge = await startTestEdge({ libsqlUrl: db.url, libsqlAuthToken: db.authToken });
});

afterAll(async () => {
  await edge?.close();
  await relay?.close();
  await db?.close();
});

describe('npm run probe at the key’s measuring limit', () => {
  it('says the measuring time is used up, saves the capture, and the survey ends time_limit', async () => {
    const key = (await createMagicKey(db.db, { label: 'three seconds', maxMeasuringMs: 3_000 })).key;
    const run = runProbeCli(edge.url, key, '20s');
    const out = await within(30_000, run.exited, run, 'CLI exit');
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout).toMatch(/^netpoke: the measuring time of this key is used up; stopping the survey/m);
    expect(out.stdout).toMatch(/\d+ s measured, the measuring time of this key is used up, capture saved/);
    const surveyId = /survey ([0-9a-f-]{36}):/.exec(out.stdout)?.[1];
    expect(surveyId).toBeDefined();
    const reason = await eventually(async () => {
      const rs = await db.db.execute({ sql: 'SELECT end_reason FROM survey_sessions WHERE session_id = ?', args: [surveyId!] });
      return rs.rows[0]?.end_reason ?? null;
    });
    expect(reason).toBe('time_limit');
  }, 60_000);
});
