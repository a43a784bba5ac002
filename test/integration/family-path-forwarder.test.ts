// One bad path of four (issue 22): the impairing forwarder (accuracy/forwarder.ts, in its own process) drops 2 % of
// both directions of path 1 only — its answer's candidates point at the forwarder, the only relay address that
// connection may use — while paths 0, 2 and 3 reach the relay straight. The per-path summary (the survey detail's
// SQL, and the CLI's own table) puts that path's loss within ±0.3 pp of the forwarder's own count and the others at 0.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signalThrough } from '../../accuracy/signal-through.js';
import { spawnForwarder, type ForwarderProcess } from '../../accuracy/spawn-forwarder.js';
import { directionTruth } from '../../accuracy/truth.js';
import { summarizePaths } from '../../client/path-summary.js';
import { runProbe } from '../../cli/run-probe.js';
import { surveyPathSplitFrom, surveyPathSplitStatements } from '../../shared/db/survey-path-split.js';
import { directSignal, eventually } from '../helpers/system.js';
import { useDbAndRelay } from '../helpers/use-system.js';

const sys = useDbAndRelay();
const BAD_PATH = 1;
const SECONDS = 15;
const LOSS = { delayMs: 0, jitterMs: 0, lossPct: 2, reorderPct: 0 };

describe('one impaired path among four of a family', () => {
  let fwd: ForwarderProcess;
  beforeAll(async () => {
    fwd = await spawnForwarder({ relayPort: sys.relay.udpPort, c2s: LOSS, s2c: LOSS, seed: 22 });
  });
  afterAll(async () => {
    await fwd?.close();
  });

  it('shows the loss on that path only, as much as the forwarder dropped', async () => {
    const straight = directSignal(sys.relay, { magicKey: 'key-bad-path' });
    const through = signalThrough(straight, fwd.address);
    // Armed for the whole survey: every probe of the bad path passes the forwarder's loss.
    await fwd.arm(true);
    const result = await runProbe({
      url: '',
      key: 'ignored',
      durationMs: SECONDS * 1000,
      families: ['ipv4'],
      paths: 4,
      signal: (offer) => (offer.path_index === BAD_PATH ? through(offer) : straight(offer)),
    });
    await fwd.arm(false);
    expect(result.stoppedBy).toBe('duration');
    const bad = result.paths.find((p) => p.path_index === BAD_PATH)!;
    expect(bad.pair?.remote.port).toBe(fwd.address.port);
    for (const p of result.paths.filter((x) => x.path_index !== BAD_PATH)) expect(p.pair?.remote.port).toBe(sys.relay.udpPort);

    const log = await fwd.log();
    const truth = { c2s: directionTruth(log.c2s), s2c: directionTruth(log.s2c) };
    // The forwarder did drop, on that path only (it sees no other).
    for (const dir of ['c2s', 's2c'] as const) expect(truth[dir].dropped, dir).toBeGreaterThan(0);
    expect(log.upstreams).toHaveLength(1);

    // The survey detail's per-path split, once the relay's last rows are in (each connection's final window).
    const split = await eventually(async () => {
      const s = surveyPathSplitFrom(await sys.db.db.batch(surveyPathSplitStatements(result.surveySessionId, { sql: '1', args: [] }), 'read'));
      return s.path_summaries.length === 4 && s.path_summaries.every((p) => p.c2s.probes_expected >= (SECONDS - 1) * 100 && p.s2c.probes_expected >= (SECONDS - 1) * 100) ? s : null;
    }, 15_000);
    expect(split.path_summaries.map((p) => [p.family, p.path_index])).toEqual([0, 1, 2, 3].map((i) => ['ipv4', i]));
    for (const p of split.path_summaries) {
      for (const dir of ['c2s', 's2c'] as const) {
        if (p.path_index === BAD_PATH) {
          expect(Math.abs(p[dir].loss_rate - truth[dir].lossPct), `${dir}: ${p[dir].loss_rate} % against the forwarder's ${truth[dir].lossPct} %`).toBeLessThanOrEqual(0.3);
        } else expect([p.path_index, dir, p[dir].probes_lost]).toEqual([p.path_index, dir, 0]);
      }
    }
    expect(split.family_summaries).toHaveLength(1);
    expect(split.family_summaries[0]!.paths).toBe(4);

    // The CLI's table, from the client's own seconds: the same path stands out, the others do not.
    const table = summarizePaths(result.seconds);
    expect(table.map((r) => [r.path_index, r.stands_out])).toEqual([0, 1, 2, 3].map((i) => [i, i === BAD_PATH]));
    expect(Math.abs(table[BAD_PATH]!.s2c.loss_rate - truth.s2c.lossPct)).toBeLessThanOrEqual(0.3);
  }, 90_000);
});
