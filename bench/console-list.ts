// `npm run bench console-list`: the survey list at 100,000 surveys through the edge in workerd: the first
// page and a page 90,000 deep, side by side (keyset paging should make them cost the same).
import { hashPassword } from '../shared/auth/password.js';
import { createMagicKey } from '../shared/db/keys.js';
import { encodeCursor } from '../shared/db/survey-list.js';
import { createUser } from '../shared/db/users.js';
import { nearestRank } from '../shared/stats/percentiles.js';
import { startTestEdge } from '../test/helpers/edge.js';
import { loginCookie } from '../test/helpers/principals.js';
import { seedSurveys } from '../test/helpers/seed-surveys.js';
import { startTestDb } from '../test/helpers/system.js';

const SURVEYS = 100_000;
const RUNS = 30;
const T0 = Date.parse('2020-01-01T00:00:00Z');

/** Latency of the survey list's first and a deep page, p50 and p99 over RUNS requests each, interleaved. */
export async function benchConsoleList(): Promise<Record<string, number | string>> {
  const db = await startTestDb();
  const edge = await startTestEdge({ libsqlUrl: db.url, libsqlAuthToken: db.authToken });
  try {
    const key = await createMagicKey(db.db, { label: 'bench' });
    await createUser(db.db, { login: 'bench-admin', role: 'admin', passwordHash: await hashPassword('bench-password-1') });
    const cookie = await loginCookie(edge.url, 'bench-admin', 'bench-password-1');
    const seeded = performance.now();
    await seedSurveys(db.db, { count: SURVEYS, magicKey: key.key, t0: T0 });
    const seedMs = performance.now() - seeded;
    const deep = 90_000;
    const cursor = encodeCursor({ start_time: T0 + Math.floor(deep / 2) * 1000, session_id: `bulk-${String(deep).padStart(6, '0')}` });
    const get = async (query: string) => {
      const t = performance.now();
      const resp = await fetch(`${edge.url}/api/surveys?${query}`, { headers: { cookie } });
      const body = (await resp.json()) as { items: unknown[] };
      if (resp.status !== 200 || body.items.length !== 50) throw new Error(`list answered ${resp.status} with ${body.items.length} items`);
      return performance.now() - t;
    };
    const first: number[] = [];
    const deepTimes: number[] = [];
    const keyFiltered: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      first.push(await get('limit=50'));
      deepTimes.push(await get(`limit=50&cursor=${cursor}`));
      keyFiltered.push(await get(`limit=50&key_id=${key.key_id}&cursor=${cursor}`));
    }
    const p = (xs: number[], q: number) => nearestRank([...xs].sort((a, b) => a - b), q);
    return {
      'surveys seeded': SURVEYS,
      'seeding (ms)': seedMs,
      'first page p50 / p99 (ms)': `${p(first, 50).toFixed(1)} / ${p(first, 99).toFixed(1)}`,
      'page 90,000 deep p50 / p99 (ms)': `${p(deepTimes, 50).toFixed(1)} / ${p(deepTimes, 99).toFixed(1)}`,
      'deep, key filter p50 / p99 (ms)': `${p(keyFiltered, 50).toFixed(1)} / ${p(keyFiltered, 99).toFixed(1)}`,
      'deep ÷ first page (p50)': p(deepTimes, 50) / p(first, 50),
      'budget (p50 ≤ 50 ms each)': p(first, 50) <= 50 && p(deepTimes, 50) <= 50 ? 'PASS' : 'MISS',
    };
  } finally {
    await edge.close();
    await db.close();
  }
}
