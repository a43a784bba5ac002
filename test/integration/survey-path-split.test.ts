// GET /api/surveys/{id}'s families × paths fields (issue 22) against hand-computed values: crafted metric rows of
// two IPv4 paths, one IPv6 path and one connection that named neither (an older client), summed by counts per path
// and per family; each connection's address pair; another analyst's survey stays out of reach.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { upsertSurveyConnection } from '../../shared/db/survey-connections.js';
import { insertMetric } from '../../shared/db/surveys.js';
import type { IpFamily } from '../../shared/ip-family.js';
import type { SurveyDetailPathFields } from '../../shared/protocol/paths.js';
import type { DirectionStats } from '../../shared/stats/direction-stats.js';
import { startTestEdge, type TestEdge } from '../helpers/edge.js';
import { asPrincipal, setUpPrincipals, type Principals } from '../helpers/principals.js';
import { startTestDb, type TestDb } from '../helpers/system.js';

let db: TestDb;
let edge: TestEdge;
let p: Principals;

/** One second: `expected` settled, `received` of them arrived, RTT [p50, p99]; jitter (|IPDV|) p50/p99 = RTT's / 100. */
function stats(expected: number, received: number, rtt: [number, number]): DirectionStats {
  return {
    delay_deviation_ms: [0.1, 0.2, 0, 0.3],
    rtt_ms: [rtt[0], rtt[1], rtt[0] - 1, rtt[1] + 1],
    jitter_ms: [rtt[0] / 100, rtt[1] / 100, 0, rtt[1] / 50],
    loss_rate: ((expected - received) / expected) * 100,
    reorder_rate: 0,
    probe_count: received,
    baseline_delay_ms: 3,
    probes_expected: expected,
  };
}

type Sec = [expected: number, received: number, rtt: [number, number]];
const T0 = Date.parse('2025-03-01T10:00:00Z');

beforeAll(async () => {
  db = await startTestDb();
  edge = await startTestEdge({ libsqlUrl: db.url, libsqlAuthToken: db.authToken });
  p = await setUpPrincipals(db.db, edge.url, 'fp');
  await db.db.execute({
    sql: 'INSERT INTO survey_sessions (session_id, magic_key, start_time, last_update_time, created_at) VALUES (?, ?, ?, ?, ?)',
    args: ['fp-1', p.keyA.key, T0, T0 + 5000, T0],
  });
  const conns: { conn: string; family?: IpFamily; path?: number; c2s: Sec[]; s2c: Sec[] }[] = [
    { conn: 'a', family: 'ipv4', path: 0, c2s: [[100, 100, [10, 20]], [100, 100, [12, 30]]], s2c: [[100, 100, [11, 21]], [100, 100, [13, 25]]] },
    { conn: 'b', family: 'ipv4', path: 1, c2s: [[100, 98, [20, 40]], [100, 96, [22, 50]]], s2c: [[100, 100, [21, 41]]] },
    { conn: 'c', family: 'ipv6', path: 0, c2s: [[200, 199, [5, 9]]], s2c: [[100, 100, [6, 8]]] },
    { conn: 'd', c2s: [[100, 100, [1, 2]]], s2c: [] },
  ];
  const rows = conns.flatMap((c) =>
    (['c2s', 's2c'] as const).flatMap((dir) =>
      c[dir].map(([e, r, rtt], i) =>
        insertMetric(
          {
            session_id: 'fp-1',
            conn_id: c.conn,
            timestamp_ms: T0 + 1000 * (i + 1),
            source: dir === 'c2s' ? 'server' : 'client',
            direction: dir,
            stats: stats(e, r, rtt),
            ...(c.family ? { family: c.family } : {}),
            ...(c.path !== undefined ? { path_index: c.path } : {}),
          },
          T0,
        ),
      ),
    ),
  );
  const pair = { client_port: 40000, relay_port: 50000, candidate_type: 'host' };
  await db.db.batch(
    [
      ...rows,
      upsertSurveyConnection({ session_id: 'fp-1', conn_id: 'c', family: 'ipv6', path_index: 0, client_prefix: '2001:db8:1::/48', relay_address: '2001:db8:9::1', ...pair }, T0),
      upsertSurveyConnection({ session_id: 'fp-1', conn_id: 'a', family: 'ipv4', path_index: 0, client_prefix: '192.0.2.0/24', relay_address: '198.51.100.1', ...pair }, T0),
    ],
    'write',
  );
}, 120_000);

afterAll(async () => {
  await edge?.close();
  await db?.close();
});

/** A direction's expected summary; these rows carry no sketches, so their percentiles are the per-second approximation. */
const dir = (expected: number, lost: number, rtt: [number, number] | null, ipdv: [number, number] | null) => ({
  probes_expected: expected,
  probes_lost: lost,
  loss_rate: expect.closeTo(expected ? (lost / expected) * 100 : 0, 9),
  rtt_ms: rtt ? { p50: rtt[0], p99: rtt[1] } : null,
  delay_variation_ms: ipdv ? { p50: expect.closeTo(ipdv[0], 9), p99: expect.closeTo(ipdv[1], 9) } : null,
  percentiles: rtt || ipdv ? 'per_second_approx' : null,
});

describe('the survey detail split per family and per path', () => {
  it('sums each path and each family by counts, with p50 the median of the seconds and p99 the largest', async () => {
    const resp = await asPrincipal(edge.url, p, 'analystOfKey')('GET', '/api/surveys/fp-1');
    expect(resp.status, await resp.clone().text()).toBe(200);
    const detail = (await resp.json()) as SurveyDetailPathFields & { summaries: unknown[] };
    expect(detail.summaries).toHaveLength(4);
    expect(detail.path_split.path_summaries).toEqual([
      { family: 'ipv4', path_index: 0, conn_ids: ['a'], c2s: dir(200, 0, [10, 30], [0.1, 0.3]), s2c: dir(200, 0, [11, 25], [0.11, 0.25]) },
      { family: 'ipv4', path_index: 1, conn_ids: ['b'], c2s: dir(200, 6, [20, 50], [0.2, 0.5]), s2c: dir(100, 0, [21, 41], [0.21, 0.41]) },
      { family: 'ipv6', path_index: 0, conn_ids: ['c'], c2s: dir(200, 1, [5, 9], [0.05, 0.09]), s2c: dir(100, 0, [6, 8], [0.06, 0.08]) },
      { family: null, path_index: null, conn_ids: ['d'], c2s: dir(100, 0, [1, 2], [0.01, 0.02]), s2c: dir(0, 0, null, null) },
    ]);
    expect(detail.path_split.family_summaries).toEqual([
      // IPv4 RTT p50: nearest-rank median of 10, 12, 20, 22 (rank 2) = 12; s2c of 11, 13, 21 = 13.
      { family: 'ipv4', paths: 2, c2s: dir(400, 6, [12, 50], [0.12, 0.5]), s2c: dir(300, 0, [13, 41], [0.13, 0.41]) },
      { family: 'ipv6', paths: 1, c2s: dir(200, 1, [5, 9], [0.05, 0.09]), s2c: dir(100, 0, [6, 8], [0.06, 0.08]) },
      { family: null, paths: 1, c2s: dir(100, 0, [1, 2], [0.01, 0.02]), s2c: dir(0, 0, null, null) },
    ]);
    expect(detail.connection_paths).toEqual([
      { conn_id: 'a', family: 'ipv4', path_index: 0, client_prefix: '192.0.2.0/24', client_port: 40000, relay_address: '198.51.100.1', relay_port: 50000, candidate_type: 'host' },
      { conn_id: 'c', family: 'ipv6', path_index: 0, client_prefix: '2001:db8:1::/48', client_port: 40000, relay_address: '2001:db8:9::1', relay_port: 50000, candidate_type: 'host' },
    ]);
  });

  it('stays out of reach of an analyst without the key', async () => {
    const resp = await asPrincipal(edge.url, p, 'analystOther')('GET', '/api/surveys/fp-1');
    expect(resp.status).toBe(404);
  });

  it('exports family and path_index on every metric row (CSV and NDJSON)', async () => {
    const csv = await (await asPrincipal(edge.url, p, 'analystOfKey')('GET', '/api/surveys/fp-1/metrics?format=csv&conn_id=b')).text();
    const [header, ...lines] = csv.trim().split(/\r?\n/);
    const cols = header!.split(',');
    const at = (name: string) => cols.indexOf(name);
    expect(at('family')).toBeGreaterThan(0);
    expect(at('path_index')).toBeGreaterThan(0);
    expect(lines).toHaveLength(3);
    for (const l of lines) expect([l.split(',')[at('family')], l.split(',')[at('path_index')]]).toEqual(['ipv4', '1']);
    const nd = await (await asPrincipal(edge.url, p, 'analystOfKey')('GET', `/api/surveys/export?format=ndjson&key_id=${p.keyA.key_id}`)).text();
    const rows = nd
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { conn_id: string; family: string | null; path_index: number | null });
    expect(rows).toHaveLength(10);
    const seen = new Map(rows.map((r) => [r.conn_id, [r.family, r.path_index]]));
    expect(Object.fromEntries(seen)).toEqual({ a: ['ipv4', 0], b: ['ipv4', 1], c: ['ipv6', 0], d: [null, null] });
  });

  it('a purge removes the connections\' address pairs with the survey', async () => {
    const count = async () => Number((await db.db.execute({ sql: "SELECT COUNT(*) AS n FROM survey_connections WHERE session_id = 'fp-1'", args: [] })).rows[0]!.n);
    expect(await count()).toBe(2);
    expect((await asPrincipal(edge.url, p, 'admin')('DELETE', '/api/surveys/fp-1?purge=true')).status).toBe(204);
    expect(await count()).toBe(0);
  });
});
