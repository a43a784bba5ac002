// A survey of 100,000 metric rows opened in workerd with the isolate's memory watched (issue 20 item 2): the detail's
// summaries come from SQL, the charts from /series downsampled to ≤ 2,000 points per series; both in bounded memory
// and time. The original detail read every row into the isolate and threw (Math.max over 100k values) or ran out.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMagicKey } from '../../shared/db/keys.js';
import { startTestDb, type TestDb } from '../helpers/system.js';
import { startTestEdge, type TestEdge } from '../helpers/edge.js';
import { asPrincipal, setUpPrincipals, type Principals } from '../helpers/principals.js';
import { seedManyMetricRows } from '../helpers/big-export.js';
import { findWorkerdPid, watchMemory } from '../helpers/workerd-memory.js';

const ROWS = 100_000;
const T0 = 1_700_000_000_000;
/** Growth of workerd's resident size the detail may cause (measured ~1 MiB; the original read every row: ~450 MiB here). */
const MEMORY_BOUND = 24 * 1024 * 1024;
/** The series answer's bound: its ≤ 8,000 rows (measured ~52 MiB of resident growth, whatever the survey's length), half the isolate's 128 MB. */
const SERIES_MEMORY_BOUND = 64 * 1024 * 1024;
const TIME_BOUND_MS = 15_000;

let db: TestDb;
let edge: TestEdge;
let p: Principals;
let pid: number;

beforeAll(async () => {
  db = await startTestDb();
  edge = await startTestEdge({ libsqlUrl: db.url, libsqlAuthToken: db.authToken });
  p = await setUpPrincipals(db.db, edge.url, 'big');
  pid = findWorkerdPid();
  await seedManyMetricRows(db.db, 'big-0001', (await createMagicKey(db.db, { label: 'big detail' })).key, ROWS, T0);
  // One row a second rather than a millisecond: 100,000 s, about 28 hours of one connection-direction's seconds.
  await db.db.execute({ sql: 'UPDATE survey_metrics SET timestamp_ms = ? + (timestamp_ms - ?) * 1000 WHERE session_id = ?', args: [T0, T0, 'big-0001'] });
}, 120_000);

afterAll(async () => {
  await edge?.close();
  await db?.close();
});

const admin = () => asPrincipal(edge.url, p, 'admin');

/** One request with workerd's memory watched and its time taken. */
async function measured(path: string): Promise<{ status: number; body: unknown; ms: number; grewBy: number }> {
  const started = Date.now();
  const { result, memory } = await watchMemory(pid, async () => {
    const resp = await admin()('GET', path);
    return { status: resp.status, body: (await resp.json()) as unknown };
  });
  return { ...result, ms: Date.now() - started, grewBy: memory.peakRss - memory.startRss };
}

interface SeriesBody {
  from: number;
  to: number;
  bucket_ms: number;
  rows: { timestamp_ms: number; conn_id: string; direction: string; rtt_p99_ms: number | null; probe_count: number }[];
}

describe('a survey of 100,000 metric rows', () => {
  it('opens its detail with the summaries of all its rows, in bounded memory and time', async () => {
    await admin()('GET', '/api/surveys'); // warm the isolate so the watch sees the request, not the start
    const { status, body, ms, grewBy } = await measured('/api/surveys/big-0001');
    expect(status, JSON.stringify(body).slice(0, 300)).toBe(200);
    const d = body as { summaries: { conn_id: string; c2s: { seconds: number; probes_expected: number }; s2c: { seconds: number } }[]; recordings: unknown[]; captures: unknown[] };
    // Rows alternate server/c2s and client/s2c over conn-0..conn-3: each connection has 25,000 rows of one direction.
    expect(d.summaries.map((s) => s.conn_id).sort()).toEqual(['conn-0', 'conn-1', 'conn-2', 'conn-3']);
    expect(d.summaries.reduce((n, s) => n + s.c2s.seconds + s.s2c.seconds, 0)).toBe(ROWS);
    expect(d.summaries.reduce((n, s) => n + s.c2s.probes_expected, 0)).toBe((ROWS / 2) * 100);
    expect(d.recordings).toEqual([]);
    expect(d.captures).toEqual([]);
    expect(ms).toBeLessThan(TIME_BOUND_MS);
    expect(grewBy).toBeLessThan(MEMORY_BOUND);
  }, 60_000);

  it('gives chart series of at most 2,000 points per connection and direction, and zooms with from/to', async () => {
    const whole = await measured('/api/surveys/big-0001/series');
    expect(whole.status).toBe(200);
    const s = whole.body as SeriesBody;
    expect(s).toMatchObject({ from: T0 + 1000, to: T0 + ROWS * 1000 });
    expect(s.bucket_ms).toBe(50_000); // 99,999 s fit in 2,000 buckets of 50 s
    expect(whole.grewBy).toBeLessThan(SERIES_MEMORY_BOUND);
    expect(whole.ms).toBeLessThan(TIME_BOUND_MS);
    const perSeries = new Map<string, number>();
    for (const r of s.rows) perSeries.set(`${r.conn_id}|${r.direction}`, (perSeries.get(`${r.conn_id}|${r.direction}`) ?? 0) + 1);
    expect([...perSeries.keys()].sort()).toEqual(['conn-0|c2s', 'conn-1|s2c', 'conn-2|c2s', 'conn-3|s2c']);
    for (const n of perSeries.values()) expect(n).toBeLessThanOrEqual(2_000);
    // Every row lands in one bucket: the probes of the buckets add up to all the survey's probes.
    expect(s.rows.reduce((n, r) => n + r.probe_count, 0)).toBe(ROWS * 100);

    const few = (await (await admin()('GET', '/api/surveys/big-0001/series?points=10')).json()) as SeriesBody;
    expect(few.bucket_ms).toBe(10_000_000);
    for (const n of count(few.rows).values()) expect(n).toBeLessThanOrEqual(10);

    const zoom = (await (await admin()('GET', `/api/surveys/big-0001/series?from=${T0 + 20_000_000}&to=${T0 + 29_999_000}&points=2000`)).json()) as SeriesBody;
    // 10,000 s zoomed: buckets of 5 s, the first of each bucket's seconds inside the range.
    expect(zoom).toMatchObject({ from: T0 + 20_000_000, to: T0 + 29_999_000, bucket_ms: 5000 });
    expect(zoom.rows.every((r) => r.timestamp_ms >= T0 + 20_000_000 && r.timestamp_ms <= T0 + 29_999_000)).toBe(true);
    expect(zoom.rows.reduce((n, r) => n + r.probe_count, 0)).toBe(10_000 * 100);
    // The largest p99 of a bucket is the largest of its seconds': rtt_p99 = x / 37 + 1 grows with x.
    const last = zoom.rows.filter((r) => r.conn_id === 'conn-3').at(-1)!; // x = 29,999: client/s2c on conn-3
    expect(last.rtt_p99_ms).toBeCloseTo(29_999 / 37 + 1, 6);
  }, 60_000);

  it('refuses a bad range with the error shape, and hides another analyst’s survey', async () => {
    for (const q of ['points=0', 'points=2001', 'from=-1', `from=${T0 + 10}&to=${T0}`, 'to=abc']) {
      const resp = await admin()('GET', `/api/surveys/big-0001/series?${q}`);
      expect(resp.status, q).toBe(400);
      expect(((await resp.json()) as { error: { code: string } }).error.code).toBe('invalid_request');
    }
    const other = await asPrincipal(edge.url, p, 'analystOther')('GET', '/api/surveys/big-0001/series');
    expect(other.status).toBe(404);
    expect((await asPrincipal(edge.url, p, 'anonymous')('GET', '/api/surveys/big-0001/series')).status).toBe(401);
  });
});

function count(rows: SeriesBody['rows']): Map<string, number> {
  const m = new Map<string, number>();
  for (const r of rows) m.set(`${r.conn_id}|${r.direction}`, (m.get(`${r.conn_id}|${r.direction}`) ?? 0) + 1);
  return m;
}
