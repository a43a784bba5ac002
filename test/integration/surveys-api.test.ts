// GET /api/surveys and GET /api/surveys/{id} (PROTOCOL.md §4) with the edge in workerd and real libSQL: filters, cursor
// paging, a 100,000-survey table, per-connection summaries against hand-computed values, and the role table.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMagicKey, type MagicKey } from '../../shared/db/keys.js';
import { encodeCursor } from '../../shared/db/survey-list.js';
import { insertMetric } from '../../shared/db/surveys.js';
import type { DirectionStats } from '../../shared/stats/direction-stats.js';
import { startTestDb, type TestDb } from '../helpers/system.js';
import { startTestEdge, type TestEdge } from '../helpers/edge.js';
import { seedSurveys } from '../helpers/seed-surveys.js';
import type { SurveyItem, SurveyPage } from '../../shared/db/survey-list.js';
import { roleTable } from '../helpers/role-table.js';
import { asPrincipal, setUpPrincipals, type PrincipalName, type Principals, type RoleRow } from '../helpers/principals.js';

let db: TestDb;
let edge: TestEdge;
let p: Principals;
/** Key of the paging set (ties in start_time) and of the 100,000-survey table. */
let keyP: MagicKey;
let keyBulk: MagicKey;

const day = (d: string) => Date.parse(`${d}T10:00:00Z`);
const BULK = 100_000;
/** Bulk survey i (1..BULK) starts at BULK_T0 + ⌊i/2⌋ s: pairs share a start, so the session_id tiebreak is exercised. */
const BULK_T0 = Date.parse('2020-01-01T00:00:00Z');
const bulkId = (i: number) => `bulk-${String(i).padStart(6, '0')}`;

type Item = SurveyItem;
type Page = SurveyPage;

async function seedSurvey(s: { id: string; key: MagicKey; user?: string | null; start: number; last?: number; end?: number; deleted?: boolean; pcap?: string }) {
  await db.db.execute({
    sql: `INSERT INTO survey_sessions (session_id, magic_key, user_login, start_time, last_update_time, created_at, end_time, end_reason, pcap_path, deleted, deleted_at, deleted_by)
          VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    args: [s.id, s.key.key, s.user ?? null, s.start, s.last ?? s.start + 30_000, s.start, s.end ?? null, s.end ? 'stopped' : null, s.pcap ?? null, s.deleted ? 1 : 0, s.deleted ? s.start : null, s.deleted ? 'someone' : null],
  });
}

/** One second's stats with the given counts and RTT (p50, p99); the other quads derived so each is distinct. */
function stats(expected: number, received: number, rtt: [number, number] | null, extra: Partial<DirectionStats> = {}): DirectionStats {
  return {
    delay_deviation_ms: received ? [rtt![0] / 10, rtt![1] / 10, -0.1, rtt![1] / 5] : [0, 0, 0, 0],
    rtt_ms: rtt ? [rtt[0], rtt[1], rtt[0] - 1, rtt[1] + 1] : [0, 0, 0, 0],
    jitter_ms: received ? [rtt![0] / 100, rtt![1] / 100, 0, rtt![1] / 50] : [0, 0, 0, 0],
    loss_rate: expected ? ((expected - received) / expected) * 100 : 0,
    reorder_rate: 0,
    probe_count: received,
    baseline_delay_ms: 3,
    probes_expected: expected,
    late_count: 0,
    loaded: false,
    ...extra,
  };
}

const get = (who: PrincipalName, path: string) => asPrincipal(edge.url, p, who)('GET', path);
async function page(who: PrincipalName, query: string): Promise<Page> {
  const resp = await get(who, `/api/surveys?${query}`);
  expect(resp.status, await resp.clone().text()).toBe(200);
  return (await resp.json()) as Page;
}
const ids = (pg: Page) => pg.items.map((x) => x.session_id);

beforeAll(async () => {
  db = await startTestDb();
  edge = await startTestEdge({ libsqlUrl: db.url, libsqlAuthToken: db.authToken });
  p = await setUpPrincipals(db.db, edge.url, 'sv');
  keyP = await createMagicKey(db.db, { label: 'paging key' });
  keyBulk = await createMagicKey(db.db, { label: 'bulk key' });
  const { keyA, keyB } = p;
  // The filter set: key A and B, two technicians, one deleted, one capture path, one survey_captures row.
  await seedSurvey({ id: 'sv-1', key: keyA, user: 'tech1', start: day('2025-01-10'), last: day('2025-01-10') + 9_000, end: day('2025-01-10') + 12_500 });
  await seedSurvey({ id: 'sv-2', key: keyA, user: 'tech2', start: day('2025-01-11') });
  await seedSurvey({ id: 'sv-3', key: keyA, user: 'tech1', start: day('2025-01-12'), deleted: true });
  await seedSurvey({ id: 'sv-4', key: keyB, user: 'tech1', start: day('2025-01-13') });
  await seedSurvey({ id: 'sv-5', key: keyA, start: day('2025-01-14'), pcap: '/data/captures/sv-5.pcapng' });
  await seedSurvey({ id: 'sv-6', key: keyA, user: 'tech2', start: day('2025-01-15') });
  await db.db.execute({
    sql: 'INSERT INTO survey_captures (session_id, conn_id, peer_id, path, bytes, records, dropped, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    args: ['sv-6', 'c1', 'peer-1', '/data/captures/sv-6.pcapng', 100, 1, 0, day('2025-01-15')],
  });
  // sv-1's metrics. Connection x, c2s (relay): 100 expected / 95 received, a second with no arrivals (100 / 0), 100 / 100 loaded.
  // s2c (client): 200 / 190 and 100 / 100. Connection y: one s2c second. A client c2s row (zeros) that the summary must ignore.
  const t0 = day('2025-01-10');
  const rows = [
    { conn_id: 'x', timestamp_ms: t0 + 1000, source: 'server', direction: 'c2s', stats: stats(100, 95, [10, 20], { reorder_rate: (2 / 95) * 100 }) },
    { conn_id: 'x', timestamp_ms: t0 + 2000, source: 'server', direction: 'c2s', stats: stats(100, 0, null) },
    { conn_id: 'x', timestamp_ms: t0 + 3000, source: 'server', direction: 'c2s', stats: stats(100, 100, [14, 50], { loaded: true, throughput_bps: 5e6 }) },
    { conn_id: 'x', timestamp_ms: t0 + 1000, source: 'client', direction: 's2c', stats: stats(200, 190, [11, 21]) },
    { conn_id: 'x', timestamp_ms: t0 + 2000, source: 'client', direction: 's2c', stats: stats(100, 100, [12, 30]) },
    { conn_id: 'x', timestamp_ms: t0 + 2000, source: 'client', direction: 'c2s', stats: stats(0, 0, null) },
    { conn_id: 'y', timestamp_ms: t0 + 5000, source: 'client', direction: 's2c', stats: stats(100, 99, [7, 9]) },
  ] as const;
  await db.db.batch(rows.map((r) => insertMetric({ session_id: 'sv-1', ...r }, t0)), 'write');
  // The paging set: 23 surveys of key P, three to a start time.
  for (let i = 0; i < 23; i++) await seedSurvey({ id: `pg-${String.fromCharCode(97 + (i % 26))}${i}`, key: keyP, start: day('2024-06-01') + Math.floor(i / 3) * 1000 });
}, 120_000);

afterAll(async () => {
  await edge?.close();
  await db?.close();
});

describe('survey list', () => {
  it('answers the PROTOCOL item shape, newest first, with counts, capture and duration', async () => {
    const pg = await page('admin', `key_id=${p.keyA.key_id}`);
    expect(ids(pg)).toEqual(['sv-6', 'sv-5', 'sv-2', 'sv-1']);
    expect(pg.next_cursor).toBeNull();
    const [six, five, two, one] = pg.items;
    expect(one).toEqual({
      session_id: 'sv-1',
      key_id: p.keyA.key_id,
      key_label: 'sv key A',
      user_login: 'tech1',
      start_time: day('2025-01-10'),
      last_update_time: day('2025-01-10') + 9_000,
      duration_ms: 12_500, // end_time − start_time
      connections: 2,
      metric_rows: 7,
      has_capture: false,
      deleted: false,
      end_time: day('2025-01-10') + 12_500,
      end_reason: 'stopped',
    });
    expect(two).toMatchObject({ duration_ms: 30_000, connections: 0, metric_rows: 0, has_capture: false }); // no end: last_update − start
    expect(five).toMatchObject({ user_login: null, has_capture: true }); // pcap_path
    expect(six).toMatchObject({ has_capture: true }); // survey_captures row
  });

  it('filters by key, technician, date range and deleted', async () => {
    expect(ids(await page('admin', `key_id=${p.keyA.key_id}&deleted=true`))).toEqual(['sv-3']);
    expect(ids(await page('admin', `key_id=${p.keyA.key_id}&deleted=all`))).toEqual(['sv-6', 'sv-5', 'sv-3', 'sv-2', 'sv-1']);
    expect((await page('admin', `key_id=${p.keyA.key_id}&deleted=all`)).items.find((x) => x.session_id === 'sv-3')?.deleted).toBe(true);
    expect(ids(await page('admin', 'user=tech1'))).toEqual(['sv-4', 'sv-1']);
    expect(ids(await page('admin', 'user=tech1&deleted=all'))).toEqual(['sv-4', 'sv-3', 'sv-1']);
    // from ≤ start_time < to, as ISO dates or epoch milliseconds.
    expect(ids(await page('admin', 'from=2025-01-11&to=2025-01-14'))).toEqual(['sv-4', 'sv-2']);
    expect(ids(await page('admin', `from=${day('2025-01-11')}&to=${day('2025-01-13')}&deleted=all`))).toEqual(['sv-3', 'sv-2']);
    expect(ids(await page('admin', `key_id=${p.keyB.key_id}&user=tech1`))).toEqual(['sv-4']);
    expect(ids(await page('admin', 'user=nobody'))).toEqual([]);
  });

  it('an analyst lists only the surveys of granted keys, whatever the filters ask', async () => {
    expect(ids(await page('analystOfKey', `key_id=${p.keyA.key_id}`))).toEqual(['sv-6', 'sv-5', 'sv-2', 'sv-1']);
    expect(ids(await page('analystOfKey', 'user=tech1&deleted=all'))).toEqual(['sv-3', 'sv-1']);
    expect(ids(await page('analystOther', `key_id=${p.keyA.key_id}&deleted=all`))).toEqual([]);
    const other = await page('analystOther', 'deleted=all&limit=200');
    expect(ids(other)).toEqual(['sv-4']);
    expect(other.items.every((x) => x.key_id === p.keyB.key_id)).toBe(true);
  });

  it('pages with the cursor across ties in start time, with no duplicates and no gaps', async () => {
    const expected = (await db.db.execute({ sql: 'SELECT session_id FROM survey_sessions WHERE magic_key = ? ORDER BY start_time DESC, session_id DESC', args: [keyP.key] })).rows.map((r) => String(r.session_id));
    expect(expected).toHaveLength(23);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const pg: Page = await page('admin', `key_id=${keyP.key_id}&limit=5${cursor ? `&cursor=${cursor}` : ''}`);
      expect(pg.items.length).toBe(pages < 4 ? 5 : 3);
      seen.push(...ids(pg));
      cursor = pg.next_cursor;
      expect(cursor === null || /^[A-Za-z0-9_-]+$/.test(cursor)).toBe(true);
      pages++;
    } while (cursor);
    expect(pages).toBe(5);
    expect(seen).toEqual(expected);
    expect(new Set(seen).size).toBe(23);
    // A page that ends exactly at the end says so.
    expect((await page('admin', `key_id=${keyP.key_id}&limit=23`)).next_cursor).toBeNull();
  });

  it('refuses bad query values with 400 invalid_request naming the field', async () => {
    for (const [query, field] of [
      ['limit=0', 'limit'],
      ['limit=201', 'limit'],
      ['limit=ten', 'limit'],
      ['cursor=not-a-cursor!', 'cursor'],
      [`cursor=${Buffer.from('["x",1]').toString('base64url')}`, 'cursor'],
      ['deleted=maybe', 'deleted'],
      ['from=yesterday', 'from'],
      ['to=2025-13-45', 'to'],
      ['key_id=XYZ', 'key_id'],
    ]) {
      const resp = await get('admin', `/api/surveys?${query}`);
      expect(resp.status, query).toBe(400);
      const body = (await resp.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe('invalid_request');
      expect(body.error.message.startsWith(`${field}:`), body.error.message).toBe(true);
    }
  });
});

describe('survey detail', () => {
  interface Percentiles {
    p50: number;
    p99: number;
    min: number;
    max: number;
  }
  interface DirectionSummary {
    seconds: number;
    probes_expected: number;
    probes_received: number;
    probes_lost: number;
    loss_rate: number;
    seconds_without_arrivals: number;
    reordered: number;
    reorder_rate: number;
    rtt_ms: Percentiles | null;
    delay_deviation_ms: Percentiles | null;
    jitter_ms: Percentiles | null;
    throughput_bps: { mean: number; max: number; seconds: number } | null;
    idle: DirectionSummary;
    loaded: DirectionSummary;
  }
  type Detail = Item & { summaries: { conn_id: string; c2s: DirectionSummary; s2c: DirectionSummary }[] };

  it('summarises each connection and direction by counts, a second with no arrivals counting all 100 it expected', async () => {
    const resp = await get('analystOfKey', '/api/surveys/sv-1');
    expect(resp.status).toBe(200);
    const d = (await resp.json()) as Detail;
    expect(d).toMatchObject({ session_id: 'sv-1', key_id: p.keyA.key_id, key_label: 'sv key A', duration_ms: 12_500, metric_rows: 7, connections: 2, has_capture: false, deleted: false });
    expect(d.summaries.map((c) => c.conn_id)).toEqual(['x', 'y']);
    const [x, y] = d.summaries;
    // c2s: lost 5 + 100 + 0 of 300 expected; reordered 2 of 195 received.
    expect(x!.c2s).toMatchObject({ seconds: 3, probes_expected: 300, probes_received: 195, probes_lost: 105, seconds_without_arrivals: 1, reordered: 2 });
    expect(x!.c2s.loss_rate).toBeCloseTo(35, 10);
    expect(x!.c2s.reorder_rate).toBeCloseTo((2 / 195) * 100, 10);
    // RTT over the two seconds with echoes: p50 = nearest-rank median of (10, 14) = 10, p99 = max(20, 50), min 9, max 51.
    expect(x!.c2s.rtt_ms).toEqual({ p50: 10, p99: 50, min: 9, max: 51 });
    expect(x!.c2s.delay_deviation_ms).toEqual({ p50: 1, p99: 5, min: -0.1, max: 10 });
    expect(x!.c2s.jitter_ms).toEqual({ p50: 0.1, p99: 0.5, min: 0, max: 1 });
    expect(x!.c2s.throughput_bps).toEqual({ mean: 5e6, max: 5e6, seconds: 1 });
    expect(x!.c2s.idle).toMatchObject({ seconds: 2, probes_expected: 200, probes_lost: 105, seconds_without_arrivals: 1 });
    expect(x!.c2s.idle.rtt_ms).toEqual({ p50: 10, p99: 20, min: 9, max: 21 });
    expect(x!.c2s.loaded).toMatchObject({ seconds: 1, probes_lost: 0, loss_rate: 0, rtt_ms: { p50: 14, p99: 50, min: 13, max: 51 } });
    // s2c: 10 of 300 lost, by counts (the mean of the two rates, 2.5 %, would be wrong).
    expect(x!.s2c).toMatchObject({ seconds: 2, probes_expected: 300, probes_lost: 10, seconds_without_arrivals: 0 });
    expect(x!.s2c.loss_rate).toBeCloseTo(10 / 3, 10);
    expect(x!.s2c.rtt_ms).toEqual({ p50: 11, p99: 30, min: 10, max: 31 });
    expect(y!.c2s).toMatchObject({ seconds: 0, probes_expected: 0, rtt_ms: null });
    expect(y!.s2c).toMatchObject({ seconds: 1, probes_expected: 100, probes_lost: 1 });
  });

  it('finds a deleted survey only when asked for; 404 for unknown and over-long ids; leaves /export to its own route', async () => {
    expect((await get('admin', '/api/surveys/sv-3')).status).toBe(404);
    const asked = await get('admin', '/api/surveys/sv-3?deleted=all');
    expect(asked.status).toBe(200);
    expect(((await asked.json()) as Detail).deleted).toBe(true);
    expect((await get('admin', '/api/surveys/no-such-survey')).status).toBe(404);
    expect((await get('admin', `/api/surveys/${'z'.repeat(129)}`)).status).toBe(404);
    expect((await get('admin', '/api/surveys/sv-1?deleted=sometimes')).status).toBe(400);
    const exp = await get('admin', '/api/surveys/export');
    const text = await exp.text();
    expect(text).not.toMatch(/"session_id":"export"|no survey export/);
  });
});

describe('role table: survey list and detail', () => {
  const ROWS: RoleRow[] = [
    { name: 'GET /api/surveys', request: (as) => as('GET', '/api/surveys'), expect: { anonymous: 401, admin: 200, analystOfKey: 200, analystOther: 200, disabled: 401 } },
    {
      name: 'GET /api/surveys/{id}',
      // A survey of key A: to the analyst of key B it does not exist.
      request: (as) => as('GET', '/api/surveys/sv-2'),
      expect: { anonymous: 401, admin: 200, analystOfKey: 200, analystOther: 404, disabled: 401 },
    },
  ];
  roleTable(ROWS, () => ({ url: edge.url, p }), async (row, who, resp) => {
    if (who !== 'analystOther' || row.name !== 'GET /api/surveys') return false;
    // The other analyst's list holds key B's surveys and never one of key A.
    const pg = (await resp.json()) as Page;
    expect(pg.items.map((x) => x.session_id)).not.toContain('sv-2');
    expect(pg.items.every((x) => x.key_id === p.keyB.key_id)).toBe(true);
    return true;
  });
});

describe('100,000 surveys', () => {
  beforeAll(async () => {
    const t = performance.now();
    await seedSurveys(db.db, { count: BULK, magicKey: keyBulk.key, t0: BULK_T0 });
    console.log(`surveys-api: seeded ${BULK} surveys in ${(performance.now() - t).toFixed(0)} ms`);
  }, 120_000);

  /** Median time of `runs` requests, and the last answer. */
  async function timed(who: PrincipalName, query: string, runs = 5): Promise<{ ms: number; pg: Page }> {
    const times: number[] = [];
    let pg: Page | undefined;
    for (let r = 0; r < runs; r++) {
      const t = performance.now();
      pg = await page(who, query);
      times.push(performance.now() - t);
    }
    times.sort((a, b) => a - b);
    return { ms: times[Math.floor(runs / 2)]!, pg: pg! };
  }

  const expectBulk = (pg: Page, from: number, n: number) => {
    expect(ids(pg)).toEqual(Array.from({ length: n }, (_, k) => bulkId(from - k)));
    for (const item of pg.items) {
      const i = Number(item.session_id.slice(5));
      expect(item).toMatchObject({ key_id: keyBulk.key_id, key_label: 'bulk key', start_time: BULK_T0 + Math.floor(i / 2) * 1000, duration_ms: 60_000, connections: i % 3 === 0 ? 2 : 0, metric_rows: i % 3 === 0 ? 2 : 0, has_capture: i % 5 === 0 });
    }
  };

  it('answers the first page and a page 90,000 deep correctly (latency printed)', async () => {
    const first = await timed('admin', `key_id=${keyBulk.key_id}`);
    expectBulk(first.pg, BULK, 50);
    // The cursor after the 90,000th survey (i = 10,001), as the list itself would give it.
    const after = encodeCursor({ start_time: BULK_T0 + Math.floor(10_001 / 2) * 1000, session_id: bulkId(10_001) });
    const deep = await timed('admin', `key_id=${keyBulk.key_id}&cursor=${after}&limit=200`);
    expectBulk(deep.pg, 10_000, 200);
    // The page's own cursor goes on where it ended.
    expectBulk(await page('admin', `key_id=${keyBulk.key_id}&cursor=${deep.pg.next_cursor}&limit=10`), 9_800, 10);
    const unfiltered = await timed('admin', 'limit=200');
    expect(unfiltered.pg.items).toHaveLength(200);
    const unfilteredDeep = await timed('admin', `cursor=${after}`);
    expectBulk(unfilteredDeep.pg, 10_000, 50);
    const user = await timed('admin', `user=bulk-tech&cursor=${after}`);
    expectBulk(user.pg, 10_000, 50);
    const range = await timed('admin', `from=${BULK_T0 + 20_000_000}&to=${BULK_T0 + 30_000_000}`);
    expectBulk(range.pg, 59_999, 50);
    // An analyst granted the bulk key besides key A: the access condition joins the filters.
    await db.db.execute({ sql: 'INSERT INTO key_grants (login, key_id, granted_at) VALUES (?, ?, ?)', args: [p.login.analystOfKey, keyBulk.key_id, Date.now()] });
    const analystDeep = await timed('analystOfKey', `cursor=${after}`);
    expectBulk(analystDeep.pg, 10_000, 50);
    // The other analyst's list is untouched by 100,000 surveys not theirs.
    const other = await timed('analystOther', 'limit=200');
    expect(ids(other.pg)).toEqual(['sv-4']);
    console.log(
      `surveys-api: ${BULK} surveys, median of 5 requests through the edge: ` +
        [
          `key first page (50) ${first.ms.toFixed(1)} ms`,
          `key page after 90,000 (200) ${deep.ms.toFixed(1)} ms`,
          `unfiltered first page (200) ${unfiltered.ms.toFixed(1)} ms`,
          `unfiltered page after 90,000 (50) ${unfilteredDeep.ms.toFixed(1)} ms`,
          `user filter after 90,000 (50) ${user.ms.toFixed(1)} ms`,
          `date range (50) ${range.ms.toFixed(1)} ms`,
          `analyst after 90,000 (50) ${analystDeep.ms.toFixed(1)} ms`,
          `analyst of another key (200) ${other.ms.toFixed(1)} ms`,
        ].join('; '),
    );
  });
});
