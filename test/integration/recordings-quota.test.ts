// A key's recording quota against someone trying to get around it (issue 18, item 1), with the edge in
// workerd, its local R2 and real libSQL: a failed recording takes no more bytes and its objects are gone;
// parallel announces cannot all pass the quota; what is not done yet counts; a chunk that lands after its
// recording completed does not stay behind uncounted.
import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createMagicKey } from '../../shared/db/keys.js';
import { insertSurveySession } from '../../shared/db/surveys.js';
import { useEdgeOverDbProxy } from '../helpers/use-system.js';

const KiB = 1024;
const CHUNK = 64 * KiB;
const QUOTA = 1024 * KiB;

// The edge reaches the database through a proxy that can hold one answer back (the race test below).
const sys = useEdgeOverDbProxy({
  vars: { RECORDING_MAX_BYTES: String(QUOTA), RECORDING_KEY_QUOTA_BYTES: String(QUOTA), RECORDING_CHUNK_BYTES: String(CHUNK) },
});

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** A new key with one survey of its own, so each test starts with an empty quota. */
async function freshSurvey(label: string): Promise<{ key: string; survey: string }> {
  const key = (await createMagicKey(sys.db.db, { label })).key;
  const survey = crypto.randomUUID();
  await sys.db.db.execute(insertSurveySession({ session_id: survey, magic_key: key, user_login: null, now: Date.now() }));
  return { key, survey };
}

const withKey = (key: string, path: string, init: Omit<RequestInit, 'headers'> & { headers?: Record<string, string> } = {}) =>
  fetch(`${sys.edge.url}${path}`, { ...init, headers: { authorization: `MagicKey ${key}`, ...init.headers } });

const announce = (key: string, body: Record<string, unknown>) =>
  withKey(key, '/api/recordings', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

const putChunk = (key: string, id: string, index: number, bytes: Uint8Array) =>
  withKey(key, `/api/recordings/${id}/chunks/${index}`, { method: 'PUT', headers: { 'content-type': 'application/octet-stream', 'x-chunk-sha256': sha(bytes) }, body: bytes as Uint8Array<ArrayBuffer> });

const complete = (key: string, id: string) => withKey(key, `/api/recordings/${id}/complete`, { method: 'POST' });

async function errorOf(resp: Response): Promise<{ status: number; code: string; message: string }> {
  const body = (await resp.json()) as { error?: { code: string; message: string } };
  return { status: resp.status, code: body.error?.code ?? 'none', message: body.error?.message ?? '' };
}

/** Every object the bucket holds under `prefix` (the recording's file and its waiting chunks). */
async function objectsUnder(prefix: string): Promise<string[]> {
  const bucket = await sys.edge.mf.getR2Bucket('RECORDINGS');
  return (await bucket.list({ prefix })).objects.map((o) => o.key);
}

describe('recording quota', () => {
  it('a failed recording cannot be announced, resumed, uploaded to or completed again, and keeps no object', async () => {
    const { key, survey } = await freshSurvey('quota fail cycle');
    const file = new Uint8Array(randomBytes(3 * CHUNK));
    const meta = { survey_session_id: survey, kind: 'video', size_bytes: file.length, sha256: 'e'.repeat(64), mime: 'video/webm' };
    const state = (await (await announce(key, meta)).json()) as { recording_id: string; chunks: number };
    expect(state.chunks).toBe(3);
    for (let i = 0; i < 3; i++) expect((await putChunk(key, state.recording_id, i, file.subarray(i * CHUNK, (i + 1) * CHUNK))).status).toBe(200);
    expect((await errorOf(await complete(key, state.recording_id))).code).toBe('checksum_mismatch');
    const row = (await sys.db.db.execute({ sql: 'SELECT upload_status, storage_key FROM recordings WHERE recording_id = ?', args: [state.recording_id] })).rows[0]!;
    expect(row.upload_status).toBe('failed');
    const prefix = `recordings/${survey}/`;
    expect(await objectsUnder(prefix)).toEqual([]);

    // The same bytes again under the same id: refused at every step, with words, and nothing lands in R2.
    const again = await errorOf(await announce(key, { ...meta, recording_id: state.recording_id }));
    expect({ status: again.status, code: again.code }).toEqual({ status: 409, code: 'conflict' });
    expect(again.message).toMatch(/new recording_id/);
    for (let i = 0; i < 3; i++) {
      const put = await errorOf(await putChunk(key, state.recording_id, i, file.subarray(i * CHUNK, (i + 1) * CHUNK)));
      expect({ status: put.status, code: put.code }).toEqual({ status: 409, code: 'conflict' });
    }
    expect((await errorOf(await complete(key, state.recording_id))).status).toBe(409);
    expect(await objectsUnder(prefix)).toEqual([]);
    expect(Number((await sys.db.db.execute({ sql: 'SELECT count(*) AS n FROM recording_chunks WHERE recording_id = ?', args: [state.recording_id] })).rows[0]!.n)).toBe(0);

    // Its objects are gone, so it no longer counts: the whole quota is free for a new attempt.
    expect((await announce(key, { ...meta, size_bytes: QUOTA, sha256: 'f'.repeat(64) })).status).toBe(200);
  });

  it('8 parallel announces over the quota: exactly as many pass as fit, the rest get 413 quota_exceeded', async () => {
    const { key, survey } = await freshSurvey('quota parallel');
    const size = 300 * KiB;
    const fit = Math.floor(QUOTA / size);
    // Every announce's quota statement has run before any of them goes on: the worst interleaving, every time.
    const barrier = sys.proxy.holdAnswers((body) => body.includes('SUM(video_size_bytes + sensor_size_bytes)') && body.includes(key), 8);
    const sent = Array.from({ length: 8 }, (_, i) => announce(key, { survey_session_id: survey, kind: 'sensors', size_bytes: size, sha256: sha(new Uint8Array([i])), mime: 'application/x-ndjson' }));
    await barrier.held;
    barrier.release();
    const answers = await Promise.all(sent);
    const outcomes = await Promise.all(answers.map(async (r) => (r.status === 200 ? { status: 200, code: 'ok' } : await errorOf(r).then(({ status, code }) => ({ status, code })))));
    expect(outcomes.filter((o) => o.status === 200)).toHaveLength(fit);
    expect(outcomes.filter((o) => o.status !== 200)).toEqual(Array.from({ length: 8 - fit }, () => ({ status: 413, code: 'quota_exceeded' })));
    const kept = await sys.db.db.execute({ sql: 'SELECT count(*) AS n, SUM(sensor_size_bytes) AS bytes FROM recordings WHERE magic_key = ?', args: [key] });
    expect({ n: Number(kept.rows[0]!.n), bytes: Number(kept.rows[0]!.bytes) }).toEqual({ n: fit, bytes: fit * size });
  });

  it('pending bytes count: a recording announced and never finished holds its share of the quota', async () => {
    const { key, survey } = await freshSurvey('quota pending');
    const base = { survey_session_id: survey, kind: 'sensors', mime: 'application/x-ndjson' };
    expect((await announce(key, { ...base, size_bytes: QUOTA - 10 * KiB, sha256: '1'.repeat(64) })).status).toBe(200);
    const over = await errorOf(await announce(key, { ...base, size_bytes: 20 * KiB, sha256: '2'.repeat(64) }));
    expect({ status: over.status, code: over.code }).toEqual({ status: 413, code: 'quota_exceeded' });
    expect((await announce(key, { ...base, size_bytes: 10 * KiB, sha256: '3'.repeat(64) })).status).toBe(200);
  });

  it('a chunk whose upload began while the recording was pending but lands after it completed is refused and leaves no object', async () => {
    const { key, survey } = await freshSurvey('quota late chunk');
    const file = new Uint8Array(randomBytes(2 * CHUNK));
    const chunk = (i: number) => file.subarray(i * CHUNK, (i + 1) * CHUNK);
    const state = (await (await announce(key, { survey_session_id: survey, kind: 'video', size_bytes: file.length, sha256: sha(file), mime: 'video/webm' })).json()) as { recording_id: string };
    for (const i of [0, 1]) expect((await putChunk(key, state.recording_id, i, chunk(i))).status).toBe(200);
    // A repeat of chunk 0 reads the recording (pending) and is held there until the recording is complete.
    const hold = sys.proxy.holdAnswers((body) => body.includes('SELECT * FROM recordings WHERE recording_id') && body.includes(state.recording_id));
    const late = putChunk(key, state.recording_id, 0, chunk(0));
    await hold.held;
    expect(await (await complete(key, state.recording_id)).json()).toEqual({ status: 'complete', sha256_verified: true });
    hold.release();
    const refused = await errorOf(await late);
    expect({ status: refused.status, code: refused.code }).toEqual({ status: 409, code: 'conflict' });
    const row = (await sys.db.db.execute({ sql: 'SELECT storage_key, upload_status FROM recordings WHERE recording_id = ?', args: [state.recording_id] })).rows[0]!;
    expect(row.upload_status).toBe('complete');
    expect(await objectsUnder(`recordings/${survey}/`)).toEqual([String(row.storage_key)]);
    expect(Number((await sys.db.db.execute({ sql: 'SELECT count(*) AS n FROM recording_chunks WHERE recording_id = ?', args: [state.recording_id] })).rows[0]!.n)).toBe(0);
  });
});
