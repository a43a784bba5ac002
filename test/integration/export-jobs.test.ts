// Background exports (issue 20 item 4) with the edge in workerd (R2 and the export queue in Miniflare) and real
// libSQL: past EXPORT_INLINE_MAX_ROWS the streamed export answers 413; a job writes the same bytes to R2 in 5 MiB
// parts, one queue message each, with its progress in the job row; a 2,000,000-row job ends whole; jobs are their
// requester's.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCsv, type CsvCell } from '../../shared/csv.js';
import { findExportJob, insertExportJob } from '../../shared/db/export-jobs.js';
import { createMagicKey } from '../../shared/db/keys.js';
import { runExportStep, type ExportMessage } from '../../edge/exports/export-step.js';
import type { ObjectStore } from '../../edge/recordings/object-store.js';
import { METRIC_COLUMNS } from '../../shared/db/metric-export.js';
import { grantedKeyIds, setGrants } from '../../shared/db/users.js';
import { startTestDb, type TestDb } from '../helpers/system.js';
import { startTestEdge, type TestEdge } from '../helpers/edge.js';
import { asPrincipal, setUpPrincipals, type PrincipalName, type Principals } from '../helpers/principals.js';
import { seedManyMetricRows, tallyLines } from '../helpers/big-export.js';

const PART_BYTES = 5 * 1024 * 1024;
/** The edge's inline limit in these tests: the medium survey streams, the big one does not. */
const INLINE_MAX = 100_000;
const MEDIUM_ROWS = 40_000;
const BIG_ROWS = 2_000_000;

let db: TestDb;
let edge: TestEdge;
let p: Principals;

beforeAll(async () => {
  db = await startTestDb();
  edge = await startTestEdge({ libsqlUrl: db.url, libsqlAuthToken: db.authToken, vars: { EXPORT_INLINE_MAX_ROWS: String(INLINE_MAX) } });
  p = await setUpPrincipals(db.db, edge.url, 'ej');
}, 60_000);

afterAll(async () => {
  await edge?.close();
  await db?.close();
});

const as = (who: PrincipalName) => asPrincipal(edge.url, p, who);

interface JobView {
  job_id: string;
  status: 'queued' | 'running' | 'done' | 'failed';
  format: string;
  rows_done: number;
  total_rows: number | null;
  bytes: number;
  error: string | null;
  download: string | null;
}

let keySeq = 0;
/** A fresh key granted to the analyst of key A, so each test's surveys are its own. */
async function keyForAnalyst() {
  const key = await createMagicKey(db.db, { label: `export jobs ${++keySeq}` });
  await setGrants(db.db, p.login.analystOfKey, [...(await grantedKeyIds(db.db, p.login.analystOfKey)), key.key_id], null);
  return key;
}

/** Asks for a job as `who` and answers its id. */
async function startJob(who: PrincipalName, filter: Record<string, unknown>): Promise<string> {
  const resp = await as(who)('POST', '/api/surveys/export-jobs', filter);
  expect(resp.status, await resp.clone().text()).toBe(202);
  const body = (await resp.json()) as { job_id: string; status: string };
  expect(body.status).toBe('queued');
  return body.job_id;
}

/**
 * Polls the job (the API has no push) until it is done or failed, keeping
 * every progress answer seen; the job's steps run on the queue meanwhile.
 */
async function waitForJob(id: string, who: PrincipalName = 'analystOfKey', timeoutMs = 60_000): Promise<{ final: JobView; seen: JobView[] }> {
  const seen: JobView[] = [];
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const resp = await as(who)('GET', `/api/surveys/export-jobs/${id}`);
    expect(resp.status).toBe(200);
    const view = (await resp.json()) as JobView;
    seen.push(view);
    if (view.status === 'done' || view.status === 'failed') return { final: view, seen };
    if (Date.now() > deadline) throw new Error(`export job ${id} still ${view.status} at ${view.rows_done} rows after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('export jobs: the same file as the streamed export', () => {
  let keyId: string;

  beforeAll(async () => {
    const key = await keyForAnalyst();
    keyId = key.key_id;
    await seedManyMetricRows(db.db, 'medium-0001', key.key, MEDIUM_ROWS);
    await seedManyMetricRows(db.db, 'medium-0002', key.key, 1_000, 1_800_000_000_000);
    // Text that needs CSV quoting and multi-byte UTF-8, so parts are also cut inside quoted fields and characters.
    await db.db.execute({ sql: `UPDATE survey_metrics SET conn_id = 'zoné ✓,"q"' || char(10) || 'x' WHERE session_id = 'medium-0001' AND id % 97 = 5` });
  }, 120_000);

  for (const format of ['csv', 'ndjson'] as const) {
    it(`${format}: a job's file is byte for byte GET /api/surveys/export of the same filter, across several 5 MiB parts`, async () => {
      const streamed = new Uint8Array(await (await as('analystOfKey')('GET', `/api/surveys/export?key_id=${keyId}&format=${format}`)).arrayBuffer());
      expect(streamed.byteLength).toBeGreaterThan(2 * PART_BYTES);

      const id = await startJob('analystOfKey', { key_id: keyId, format });
      const { final } = await waitForJob(id);
      expect(final).toMatchObject({ status: 'done', format, rows_done: MEDIUM_ROWS + 1_000, total_rows: MEDIUM_ROWS + 1_000, bytes: streamed.byteLength, error: null });
      expect(final.download).toBe(`/api/surveys/export-jobs/${id}/content`);

      const resp = await as('analystOfKey')('GET', final.download!);
      expect(resp.status).toBe(200);
      expect(resp.headers.get('content-type')).toBe(format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson');
      expect(resp.headers.get('content-disposition')).toMatch(new RegExp(`^attachment; filename="netpoke-metrics-${keyId}-[0-9T-]+\\.${format}"$`));
      const file = new Uint8Array(await resp.arrayBuffer());
      expect(file.byteLength).toBe(streamed.byteLength);
      expect(sha256(file)).toBe(sha256(streamed));
      // Stored as a multipart object of ceil(size / 5 MiB) parts.
      const stored = await (await edge.mf.getR2Bucket('RECORDINGS')).head(`exports/${id}.${format}`);
      expect(stored?.size).toBe(streamed.byteLength);
      expect(stored?.etag).toMatch(new RegExp(`-${Math.ceil(streamed.byteLength / PART_BYTES)}$`));
    }, 300_000);
  }

  it('a job of no rows is a file of just the header (CSV) or nothing (NDJSON)', async () => {
    for (const format of ['csv', 'ndjson'] as const) {
      const id = await startJob('analystOfKey', { key_id: keyId, from: 9_999_999_999_999, format });
      const { final } = await waitForJob(id);
      expect(final).toMatchObject({ status: 'done', rows_done: 0, total_rows: 0 });
      const text = await (await as('analystOfKey')('GET', final.download!)).text();
      expect(text).toBe(format === 'csv' ? METRIC_COLUMNS.join(',') + '\r\n' : '');
    }
  }, 60_000);
});

describe('the inline limit', () => {
  it('GET /api/surveys/export streams up to EXPORT_INLINE_MAX_ROWS rows and answers one more with 413 too_large naming the job route', async () => {
    const small = await startTestEdge({ libsqlUrl: db.url, libsqlAuthToken: db.authToken, vars: { EXPORT_INLINE_MAX_ROWS: '5' } });
    try {
      const key = await keyForAnalyst();
      await seedManyMetricRows(db.db, `limit-${key.key_id}`, key.key, 5);
      const get = () => fetch(`${small.url}/api/surveys/export?key_id=${key.key_id}&format=ndjson`, { headers: { cookie: p.cookie.analystOfKey } });
      const ok = await get();
      expect(ok.status).toBe(200);
      expect((await ok.text()).trimEnd().split('\n').length).toBe(5);
      await db.db.execute({
        sql: `INSERT INTO survey_metrics (session_id, timestamp_ms, source, conn_id, direction, loss_rate, reorder_rate, probe_count, created_at) VALUES (?, 1, 'server', 'c', 'c2s', 0, 0, 1, 1)`,
        args: [`limit-${key.key_id}`],
      });
      const refused = await get();
      expect(refused.status).toBe(413);
      const body = (await refused.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe('too_large');
      expect(body.error.message).toContain('POST /api/surveys/export-jobs');
    } finally {
      await small.close();
    }
  }, 60_000);
});

describe('a 2,000,000-row export', () => {
  let keyId: string;
  const surveyId = 'big-0001';

  beforeAll(async () => {
    const key = await keyForAnalyst();
    keyId = key.key_id;
    const t0 = performance.now();
    await seedManyMetricRows(db.db, surveyId, key.key, BIG_ROWS);
    console.log(`seeded ${BIG_ROWS} rows in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }, 600_000);

  it('is refused inline, runs in the background to R2 with rows_done rising, and downloads every row: count, head and tail as in the database', async () => {
    const inline = await as('analystOfKey')('GET', `/api/surveys/export?key_id=${keyId}&format=csv`);
    expect(inline.status).toBe(413);

    const t0 = performance.now();
    const id = await startJob('analystOfKey', { key_id: keyId, format: 'csv' });
    const { final, seen } = await waitForJob(id, 'analystOfKey', 1_500_000);
    const seconds = (performance.now() - t0) / 1000;
    console.log(`2M-row export job: ${(final.bytes / 1024 / 1024).toFixed(1)} MB in ${seconds.toFixed(1)} s (${Math.round(BIG_ROWS / seconds)} rows/s), ${seen.length} polls`);
    expect(final).toMatchObject({ status: 'done', rows_done: BIG_ROWS, total_rows: BIG_ROWS, error: null });

    // Progress: seen while running, never going back, at several values between none and all.
    const running = seen.filter((v) => v.status === 'running');
    const progress = running.map((v) => v.rows_done);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
    expect(new Set(progress.filter((n) => n > 0 && n < BIG_ROWS)).size).toBeGreaterThanOrEqual(3);
    expect(running.every((v) => v.total_rows === BIG_ROWS && v.download === null)).toBe(true);

    const resp = await as('analystOfKey')('GET', final.download!);
    expect(resp.status).toBe(200);
    expect(Number(resp.headers.get('content-length'))).toBe(final.bytes);
    const tally = await tallyLines(resp.body!);
    expect(tally.bytes).toBe(final.bytes);
    expect(tally.lines).toBe(BIG_ROWS + 1);
    expect(tally.firstLines[0]).toBe(METRIC_COLUMNS.join(','));
    const ends = await db.db.execute({
      sql: `SELECT * FROM (SELECT * FROM survey_metrics WHERE session_id = ? ORDER BY timestamp_ms, id LIMIT 2)
            UNION ALL SELECT * FROM (SELECT * FROM survey_metrics WHERE session_id = ? ORDER BY timestamp_ms DESC, id DESC LIMIT 1)`,
      args: [surveyId, surveyId],
    });
    expectCsvRow(parseCsv(tally.firstLines[1]!)[0]!, { ...ends.rows[0]! }, 'first row');
    expectCsvRow(parseCsv(tally.firstLines[2]!)[0]!, { ...ends.rows[1]! }, 'second row');
    expectCsvRow(parseCsv(tally.lastLine)[0]!, { ...ends.rows[2]! }, 'last row');
  }, 1_800_000);
});

describe('steps that fail half-way', () => {
  it('a step whose next message was not queued is taken up by its retry (a second delivery starts no second chain); a last step whose job row was not updated finishes on its retry', async () => {
    const key = await keyForAnalyst();
    await seedManyMetricRows(db.db, `lost-${key.key_id}`, key.key, 20_000);
    const id = crypto.randomUUID();
    await insertExportJob(db.db, { id, requestedBy: p.login.analystOfKey, filter: { key_id: key.key_id, deleted: 'false', keys: [key.key_id] }, format: 'csv', storageKey: `exports/${id}.csv`, now: Date.now() });
    // The steps run here against the real database and the edge's R2; the queue is a stand-in that loses the first send.
    const sent: ExportMessage[] = [];
    let failNext = true;
    const deps = {
      db: db.db,
      store: (await edge.mf.getR2Bucket('RECORDINGS')) as unknown as ObjectStore,
      now: () => Date.now(),
      send: async (m: ExportMessage) => {
        if (failNext) {
          failNext = false;
          throw new Error('Network connection lost.');
        }
        sent.push(m);
      },
    };
    await expect(runExportStep(deps, { job_id: id, part: 1 }, 1)).rejects.toThrow('Network connection lost.');
    expect((await findExportJob(db.db, id))?.parts.length).toBe(1);
    // The same message delivered again (not a retry): nothing to do.
    expect(await runExportStep(deps, { job_id: id, part: 1 }, 1)).toBe('ignored');
    expect(sent).toEqual([]);
    // Its retry queues the next step, which finishes the file.
    expect(await runExportStep(deps, { job_id: id, part: 1 }, 2)).toBe('continued');
    expect(sent).toEqual([{ job_id: id, part: 2 }]);
    const beforeLast = (await db.db.execute({ sql: 'SELECT rows_done, bytes, cursor FROM export_jobs WHERE id = ?', args: [id] })).rows[0]!;
    expect(await runExportStep(deps, sent[0]!, 1)).toBe('done');
    const job = await findExportJob(db.db, id);
    expect(job).toMatchObject({ status: 'done', rows_done: 20_000, total_rows: 20_000 });
    const streamed = new Uint8Array(await (await as('analystOfKey')('GET', `/api/surveys/export?key_id=${key.key_id}&format=csv`)).arrayBuffer());
    const file = new Uint8Array(await (await as('analystOfKey')('GET', `/api/surveys/export-jobs/${id}/content`)).arrayBuffer());
    expect(file.byteLength).toBe(streamed.byteLength);
    expect(sha256(file)).toBe(sha256(streamed));

    // The last step completed the file but its job row never heard (the update lost): the retry finishes the job, file as it was.
    await db.db.execute({
      sql: "UPDATE export_jobs SET status = 'running', finished_at = NULL, rows_done = ?, bytes = ?, cursor = ? WHERE id = ?",
      args: [beforeLast.rows_done!, beforeLast.bytes!, beforeLast.cursor!, id],
    });
    expect(await runExportStep(deps, sent[0]!, 2)).toBe('done');
    expect(await findExportJob(db.db, id)).toMatchObject({ status: 'done', rows_done: 20_000, bytes: streamed.byteLength });
    const again = new Uint8Array(await (await as('analystOfKey')('GET', `/api/surveys/export-jobs/${id}/content`)).arrayBuffer());
    expect(sha256(again)).toBe(sha256(streamed));
  }, 120_000);
});

describe('a job is its requester’s', () => {
  it("another analyst gets 404 for the job and its file; a key outside one's grants cannot be exported; anonymous is 401; an admin sees it", async () => {
    const id = await startJob('analystOfKey', { key_id: p.keyA.key_id, format: 'ndjson' });
    expect((await as('analystOther')('GET', `/api/surveys/export-jobs/${id}`)).status).toBe(404);
    expect((await as('analystOther')('GET', `/api/surveys/export-jobs/${id}/content`)).status).toBe(404);
    expect((await as('anonymous')('GET', `/api/surveys/export-jobs/${id}`)).status).toBe(401);
    expect((await as('disabled')('GET', `/api/surveys/export-jobs/${id}`)).status).toBe(401);
    await waitForJob(id);
    expect((await as('analystOther')('GET', `/api/surveys/export-jobs/${id}/content`)).status).toBe(404);
    expect((await as('admin')('GET', `/api/surveys/export-jobs/${id}`)).status).toBe(200);

    const before = Number((await db.db.execute('SELECT COUNT(*) FROM export_jobs')).rows[0]![0]);
    const foreign = await as('analystOther')('POST', '/api/surveys/export-jobs', { key_id: p.keyA.key_id });
    expect(foreign.status).toBe(404);
    expect(((await foreign.json()) as { error: { code: string } }).error.code).toBe('not_found');
    expect((await as('anonymous')('POST', '/api/surveys/export-jobs', {})).status).toBe(401);
    const bad = await as('analystOfKey')('POST', '/api/surveys/export-jobs', { format: 'xml' });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { message: string } }).error.message).toContain('format');
    expect(Number((await db.db.execute('SELECT COUNT(*) FROM export_jobs')).rows[0]![0])).toBe(before);
    expect((await as('analystOfKey')('GET', `/api/surveys/export-jobs/${crypto.randomUUID()}`)).status).toBe(404);
  }, 60_000);

  it("a job without grants to a key exports only the requester's surveys, as the streamed export does", async () => {
    const mine = await keyForAnalyst();
    const other = await createMagicKey(db.db, { label: 'not granted' });
    await seedManyMetricRows(db.db, `mine-${mine.key_id}`, mine.key, 3);
    await seedManyMetricRows(db.db, `other-${other.key_id}`, other.key, 3);
    await seedManyMetricRows(db.db, `keyb-${other.key_id}`, p.keyB.key, 3, 1_900_000_000_000);
    const id = await startJob('analystOther', { format: 'ndjson' });
    const { final } = await waitForJob(id, 'analystOther');
    const text = await (await as('analystOther')('GET', final.download!)).text();
    const streamed = await (await as('analystOther')('GET', '/api/surveys/export?format=ndjson')).text();
    expect(text).toBe(streamed);
    expect(text.trimEnd().split('\n').length).toBe(3);
    expect(text).toContain(`"keyb-${other.key_id}"`);
    expect(text).not.toContain(`mine-${mine.key_id}`);
    expect(text).not.toContain(`other-${other.key_id}`);
  }, 60_000);
});

/** One CSV record against the database row: NULL is an empty field, numbers are String(value) exactly, text is itself. */
function expectCsvRow(cells: CsvCell[], row: Record<string, unknown>, where: string) {
  expect(cells.length, where).toBe(METRIC_COLUMNS.length);
  METRIC_COLUMNS.forEach((col, i) => {
    const v = row[col];
    if (v === null) expect(cells[i], `${where} ${col}`).toBeNull();
    else expect(cells[i], `${where} ${col}`).toBe(String(v));
  });
}
