// The console's survey detail split by family and path (issue 22): crafted rows of two IPv4 paths (one lossy) and
// one IPv6 path; the page shows each family's and path's figures as hand-computed here, and marks the lossy path;
// the compare page shows each compared survey's own split.
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../shared/auth/password.js';
import { createMagicKey } from '../../shared/db/keys.js';
import { upsertSurveyConnection } from '../../shared/db/survey-connections.js';
import { insertMetric } from '../../shared/db/surveys.js';
import { createUser } from '../../shared/db/users.js';
import type { IpFamily } from '../../shared/ip-family.js';
import { emptyDirectionStats, type DirectionStats } from '../../shared/stats/index.js';
import { ARTIFACTS, submitLogin, useBrowserStack } from '../helpers/use-browser-stack.js';

const stack = useBrowserStack({ relay: false });
const ADMIN = 'fp-admin';
const PASSWORD = 'fp-admin-pass-0123456789';
const SURVEY = '5f0c9a52-7d1e-4f1b-9a57-1c2d3e4f5a6b';
/** A second survey to compare with: the IPv6 path alone. */
const OTHER = '6a1d0b63-8e2f-4a2c-8b68-2d3e4f5a6b7c';
const T0 = Date.parse('2025-04-01T09:00:00Z');

/** One second: `expected` settled, `received` arrived, RTT [p50, p99], |IPDV| p99 = RTT p99 / 10. */
function sec(expected: number, received: number, rtt: [number, number]): DirectionStats {
  return {
    ...emptyDirectionStats(),
    rtt_ms: [rtt[0], rtt[1], rtt[0] - 0.5, rtt[1] + 1],
    jitter_ms: [rtt[0] / 10, rtt[1] / 10, 0, rtt[1] / 5],
    loss_rate: ((expected - received) / expected) * 100,
    probe_count: received,
    probes_expected: expected,
    lost_count: expected - received,
  };
}

type Sec = Parameters<typeof sec>;
const CONNS: { conn: string; family: IpFamily; path: number; client: string; relay: string; c2s: Sec[]; s2c: Sec[] }[] = [
  { conn: 'conn-a', family: 'ipv4', path: 0, client: '192.0.2.0/24', relay: '198.51.100.7', c2s: [[100, 100, [10, 20]], [100, 100, [12, 30]]], s2c: [[100, 100, [11, 21]]] },
  { conn: 'conn-b', family: 'ipv4', path: 1, client: '192.0.2.0/24', relay: '198.51.100.7', c2s: [[100, 90, [20, 40]]], s2c: [[100, 95, [21, 41]]] },
  { conn: 'conn-c', family: 'ipv6', path: 0, client: '2001:db8:1::/48', relay: '2001:db8:ff::7', c2s: [[200, 199, [5, 9]]], s2c: [[100, 100, [6, 8]]] },
];

beforeAll(async () => {
  const db = stack.db.db;
  const key = await createMagicKey(db, { label: 'Two families' });
  await createUser(db, { login: ADMIN, role: 'admin', passwordHash: await hashPassword(PASSWORD) });
  for (const [id, t] of [[SURVEY, T0], [OTHER, T0 + 60_000]] as const) {
    await db.execute({
      sql: 'INSERT INTO survey_sessions (session_id, magic_key, start_time, last_update_time, created_at) VALUES (?, ?, ?, ?, ?)',
      args: [id, key.key, t, t + 3000, t],
    });
  }
  const c = CONNS[2]!;
  await db.batch(
    (['c2s', 's2c'] as const).map((dir) =>
      insertMetric(
        { session_id: OTHER, conn_id: 'conn-o', timestamp_ms: T0 + 61_000, source: dir === 'c2s' ? 'server' : 'client', direction: dir, stats: sec(...c[dir][0]!), family: 'ipv6', path_index: 0 },
        T0,
      ),
    ),
    'write',
  );
  await db.batch(
    CONNS.flatMap((c) => [
      ...(['c2s', 's2c'] as const).flatMap((dir) =>
        c[dir].map((s, i) =>
          insertMetric(
            { session_id: SURVEY, conn_id: c.conn, timestamp_ms: T0 + 1000 * (i + 1), source: dir === 'c2s' ? 'server' : 'client', direction: dir, stats: sec(...s), family: c.family, path_index: c.path },
            T0,
          ),
        ),
      ),
      upsertSurveyConnection(
        { session_id: SURVEY, conn_id: c.conn, family: c.family, path_index: c.path, client_prefix: c.client, client_port: 40000, relay_address: c.relay, relay_port: 50000, candidate_type: 'host' },
        T0,
      ),
    ]),
    'write',
  );
});

describe('console survey detail by family and path', () => {
  it('shows each family and path summed by counts and marks the lossy path', async () => {
    const page = await stack.browser.newPage({ viewport: { width: 1400, height: 1600 } });
    await page.goto(`${stack.edge.url}/console/surveys/${SURVEY}`);
    await submitLogin(page, ADMIN, PASSWORD);
    await page.waitForSelector('#family-paths .path-summary tbody tr');
    const cell = (row: string, dir: string, metric: string) => page.locator(`#family-paths ${row} td[data-dir="${dir}"][data-metric="${metric}"]`).textContent();

    const fam = (f: string) => `.family-summary tr[data-family="${f}"]`;
    expect(await page.locator(`#family-paths ${fam('ipv4')} td[data-metric="paths"]`).textContent()).toBe('2');
    // IPv4 up: 10 lost of 300; down: 5 of 200; RTT p99 the largest of its seconds' (40 up, 41 down); DV p99 likewise (4, 4.1).
    expect(await cell(fam('ipv4'), 'c2s', 'loss_rate')).toBe(((10 / 300) * 100).toFixed(3));
    expect(await cell(fam('ipv4'), 's2c', 'loss_rate')).toBe('2.500');
    expect(await cell(fam('ipv4'), 'c2s', 'rtt_p99')).toBe('40.000');
    expect(await cell(fam('ipv4'), 's2c', 'rtt_p99')).toBe('41.000');
    expect(await cell(fam('ipv4'), 'c2s', 'dv_p99')).toBe('4.000');
    // These rows carry no sketches (an older survey): the figures say they are the per-second approximation.
    expect(await cell(fam('ipv4'), 'c2s', 'percentiles')).toBe('approximation (seconds without sketches)');
    expect(await cell(fam('ipv6'), 's2c', 'percentiles')).toBe('approximation (seconds without sketches)');
    // IPv6 up: 1 of 200.
    expect(await cell(fam('ipv6'), 'c2s', 'loss_rate')).toBe('0.500');
    expect(await cell(fam('ipv6'), 's2c', 'rtt_p50')).toBe('6.000');

    const path = (f: string, i: number) => `.path-summary tr[data-family="${f}"][data-path="${i}"]`;
    expect(await page.locator('#family-paths .path-summary tbody tr').count()).toBe(3);
    expect(await cell(path('ipv4', 1), 'c2s', 'loss_rate')).toBe('10.000');
    expect(await cell(path('ipv4', 1), 's2c', 'loss_rate')).toBe('5.000');
    expect(await cell(path('ipv4', 0), 'c2s', 'loss_rate')).toBe('0.000');
    expect(await page.locator(`#family-paths ${path('ipv4', 0)} td[data-metric="expected"]`).textContent()).toBe('100');
    expect(await page.locator(`#family-paths ${path('ipv6', 0)} td.addresses`).textContent()).toBe('2001:db8:1::/48 → 2001:db8:ff::7 (host)');
    // The lossy path is the one marked.
    const worst = await page.locator('#family-paths .path-summary tr.worst').evaluateAll((trs) => trs.map((t) => `${(t as HTMLElement).dataset.family}/${(t as HTMLElement).dataset.path}`));
    expect(worst).toEqual(['ipv4/1']);
    await page.locator('#family-paths').screenshot({ path: join(ARTIFACTS, 'console-family-paths.png') });

    // Compared, each survey keeps its own split: A's three paths, B's one IPv6 path (its up loss 1 of 200).
    await page.goto(`${stack.edge.url}/console/compare?ids=${SURVEY},${OTHER}`);
    await page.waitForSelector('#family-paths-1 .path-summary tbody tr');
    expect(await page.locator('#family-paths-0 .path-summary tbody tr').count()).toBe(3);
    expect(await page.locator('#family-paths-1 .path-summary tbody tr').evaluateAll((trs) => trs.map((t) => (t as HTMLElement).dataset.family))).toEqual(['ipv6']);
    expect(await page.locator('#family-paths-1 .family-summary tr[data-family="ipv6"] td[data-dir="c2s"][data-metric="loss_rate"]').textContent()).toBe('0.500');
    expect(await page.locator('#family-paths-0 h2').textContent()).toMatch(/^A: .* by address family and path$/);
    await page.close();
  }, 60_000);
});
