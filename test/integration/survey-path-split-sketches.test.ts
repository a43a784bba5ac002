// The survey detail's per-family and per-path percentiles (issue 17 over issue 22) come from the merged per-second
// sketches of the group's connections, not the median of per-second p50s: crafted rows built with the sketch module
// whose merged p50 (hand-computed) differs from the median of p50s, and a path without sketches that keeps the old
// figure and says so.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertMetric } from '../../shared/db/surveys.js';
import type { IpFamily } from '../../shared/ip-family.js';
import type { PathDirectionSummary, SurveyDetailPathFields } from '../../shared/protocol/paths.js';
import type { DirectionStats } from '../../shared/stats/direction-stats.js';
import { startTestEdge, type TestEdge } from '../helpers/edge.js';
import { mixedSeconds } from '../helpers/sketched-second.js';
import { asPrincipal, setUpPrincipals, type Principals } from '../helpers/principals.js';
import { startTestDb, type TestDb } from '../helpers/system.js';

let db: TestDb;
let edge: TestEdge;
let p: Principals;

const T0 = Date.parse('2025-03-02T10:00:00Z');

beforeAll(async () => {
  db = await startTestDb();
  edge = await startTestEdge({ libsqlUrl: db.url, libsqlAuthToken: db.authToken });
  p = await setUpPrincipals(db.db, edge.url, 'fs');
  await db.db.execute({
    sql: 'INSERT INTO survey_sessions (session_id, magic_key, start_time, last_update_time, created_at) VALUES (?, ?, ?, ?, ?)',
    args: ['fs-1', p.keyA.key, T0, T0 + 12_000, T0],
  });
  // IPv4: path 0 sketched, path 1 the same seconds without sketches (an older recording). IPv6: the mixture split
  // over two sketched paths, the 20 ms seconds on path 0 and the 80 ms ones on path 1, so only the family merges both.
  const conns: { conn: string; family: IpFamily; path: number; seconds: DirectionStats[] }[] = [
    { conn: 'v4a', family: 'ipv4', path: 0, seconds: mixedSeconds(true) },
    { conn: 'v4b', family: 'ipv4', path: 1, seconds: mixedSeconds(false) },
    { conn: 'v6a', family: 'ipv6', path: 0, seconds: mixedSeconds(true).slice(0, 5) },
    { conn: 'v6b', family: 'ipv6', path: 1, seconds: mixedSeconds(true).slice(5) },
  ];
  await db.db.batch(
    conns.flatMap((c) =>
      (['c2s', 's2c'] as const).flatMap((dir) =>
        c.seconds.map((stats, i) =>
          insertMetric(
            { session_id: 'fs-1', conn_id: c.conn, timestamp_ms: T0 + 1000 * (i + 1), source: dir === 'c2s' ? 'server' : 'client', direction: dir, stats, family: c.family, path_index: c.path },
            T0,
          ),
        ),
      ),
    ),
    'write',
  );
}, 120_000);

afterAll(async () => {
  await edge?.close();
  await db?.close();
});

/** Within the sketches' 1 % relative error of `ms`. */
const within1pc = (got: number, ms: number) => expect(Math.abs(got - ms) / ms, `${got} against ${ms}`).toBeLessThanOrEqual(0.01);

function expectMerged(d: PathDirectionSummary, p50: number, p99: number): void {
  expect(d.percentiles).toBe('merged');
  within1pc(d.rtt_ms!.p50, p50);
  within1pc(d.rtt_ms!.p99, p99);
  within1pc(d.delay_variation_ms!.p50, p50 / 10);
  within1pc(d.delay_variation_ms!.p99, p99 / 10);
}

describe('the per-family and per-path split from merged sketches', () => {
  it('reads p50 from the merged sketches where every second has them, and the old figure, labelled, where not', async () => {
    const resp = await asPrincipal(edge.url, p, 'analystOfKey')('GET', '/api/surveys/fs-1');
    expect(resp.status, await resp.clone().text()).toBe(200);
    const split = ((await resp.json()) as SurveyDetailPathFields).path_split;
    const path = (fam: IpFamily, i: number) => split.path_summaries.find((x) => x.family === fam && x.path_index === i)!;
    const family = (fam: IpFamily) => split.family_summaries.find((x) => x.family === fam)!;
    for (const d of ['c2s', 's2c'] as const) {
      // 518 samples: rank 259 (p50) lies among the 500 at 20 ms; rank 513 (p99) among the 18 at 80 ms.
      expectMerged(path('ipv4', 0)[d], 20, 80);
      expectMerged(path('ipv6', 0)[d], 20, 20);
      expectMerged(path('ipv6', 1)[d], 80, 80);
      expectMerged(family('ipv6')[d], 20, 80);
      // No sketches: the median of the 11 seconds' p50s (rank 6 of 20×5, 80×6) = 80, the largest p99 = 80.
      expect(path('ipv4', 1)[d]).toMatchObject({ percentiles: 'per_second_approx', rtt_ms: { p50: 80, p99: 80 }, delay_variation_ms: { p50: 8, p99: 8 } });
      // A family with one unsketched path is all approximation, never a mixture: 22 seconds, 12 read 80.
      expect(family('ipv4')[d]).toMatchObject({ percentiles: 'per_second_approx', rtt_ms: { p50: 80, p99: 80 } });
    }
  });
});
