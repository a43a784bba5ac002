// The real `npm run probe` CLI, through the edge in workerd, with a key whose measuring time runs out mid-survey:
// it says so in words, stops the survey as Stop does (capture saved) and exits 0.
import { describe, expect, it } from 'vitest';
import { createMagicKey } from '../../shared/db/keys.js';
import { runProbeCli, within } from '../helpers/probe-cli.js';
import { eventually } from '../helpers/system.js';
import { useEdgeSystem } from '../helpers/use-system.js';

const sys = useEdgeSystem();

describe('npm run probe at the key’s measuring limit', () => {
  it('says the measuring time is used up, saves the capture, and the survey ends time_limit', async () => {
    const key = (await createMagicKey(sys.db.db, { label: 'three seconds', maxMeasuringMs: 3_000 })).key;
    const run = runProbeCli(sys.edge.url, key, '20s');
    const out = await within(30_000, run.exited, run, 'CLI exit');
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout).toMatch(/^netpoke: the measuring time of this key is used up; stopping the survey/m);
    expect(out.stdout).toMatch(/\d+ s measured, the measuring time of this key is used up, capture saved/);
    const surveyId = /survey ([0-9a-f-]{36}):/.exec(out.stdout)?.[1];
    expect(surveyId).toBeDefined();
    const reason = await eventually(async () => {
      const rs = await sys.db.db.execute({ sql: 'SELECT end_reason FROM survey_sessions WHERE session_id = ?', args: [surveyId!] });
      return rs.rows[0]?.end_reason ?? null;
    });
    expect(reason).toBe('time_limit');
  }, 60_000);
});
