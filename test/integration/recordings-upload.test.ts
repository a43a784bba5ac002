// Resumable recording uploads with the edge in workerd, its local R2 and real libSQL: a 25 MiB file in
// chunks, interrupted mid-chunk and resumed from the server's answer, lands byte-identical with a verified
// SHA-256; a corrupted chunk stores nothing; another key's survey is refused; limits refuse before storing.
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertSurveySession } from '../../shared/db/surveys.js';
import { startTestDb, type TestDb } from '../helpers/system.js';
import { startTestEdge, type TestEdge } from '../helpers/edge.js';
import { asPrincipal, setUpPrincipals, type Principals } from '../helpers/principals.js';

const MiB = 1024 * 1024;
const CHUNK = MiB;

let db: TestDb;
let edge: TestEdge;
let p: Principals;
let surveyA: string;
let surveyB: string;

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

beforeAll(async () => {
  db = await startTestDb();
  edge = await startTestEdge({
    libsqlUrl: db.url,
    libsqlAuthToken: db.authToken,
    vars: { RECORDING_MAX_BYTES: String(40 * MiB), RECORDING_KEY_QUOTA_BYTES: String(60 * MiB), RECORDING_CHUNK_BYTES: String(CHUNK) },
  });
  p = await setUpPrincipals(db.db, edge.url, 'rec');
  surveyA = crypto.randomUUID();
  surveyB = crypto.randomUUID();
  await db.db.execute(insertSurveySession({ session_id: surveyA, magic_key: p.keyA.key, user_login: null, now: Date.now() }));
  await db.db.execute(insertSurveySession({ session_id: surveyB, magic_key: p.keyB.key, user_login: null, now: Date.now() }));
}, 60_000);

afterAll(async () => {
  await edge?.close();
  await db?.close();
});

/** A technician's request with only the magic key. */
const withKey = (key: string, path: string, init: Omit<RequestInit, 'headers'> & { headers?: Record<string, string> } = {}) =>
  fetch(`${edge.url}${path}`, { ...init, headers: { authorization: `MagicKey ${key}`, ...init.headers } });

const announce = (key: string, body: Record<string, unknown>) =>
  withKey(key, '/api/recordings', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

const putChunk = (key: string, id: string, index: number, bytes: Uint8Array, digest = sha(bytes)) =>
  withKey(key, `/api/recordings/${id}/chunks/${index}`, { method: 'PUT', headers: { 'content-type': 'application/octet-stream', 'x-chunk-sha256': digest }, body: bytes as Uint8Array<ArrayBuffer> });

async function errorCode(resp: Response): Promise<{ status: number; code: string }> {
  return { status: resp.status, code: ((await resp.json()) as { error: { code: string } }).error.code };
}

interface UploadState {
  recording_id: string;
  chunk_bytes: number;
  chunks: number;
  received: number[];
  status: string;
}

describe('recording upload', () => {
  it('a 25 MiB upload interrupted mid-chunk resumes from the server\'s answer and lands byte-identical in R2, SHA-256 verified', async () => {
    const file = new Uint8Array(randomBytes(25 * MiB));
    const meta = { survey_session_id: surveyA, kind: 'video', size_bytes: file.length, sha256: sha(file), mime: 'video/webm;codecs=vp8', device_info: { ua: 'test' }, notes: 'walk 1', started_at: Date.now() };
    const first = await announce(p.keyA.key, meta);
    expect(first.status).toBe(200);
    const state = (await first.json()) as UploadState;
    expect(state).toMatchObject({ chunk_bytes: CHUNK, chunks: 25, received: [], status: 'pending' });
    const chunk = (i: number) => file.subarray(i * CHUNK, Math.min(file.length, (i + 1) * CHUNK));

    for (const i of [0, 1]) {
      const r = await putChunk(p.keyA.key, state.recording_id, i, chunk(i));
      expect(await r.json()).toEqual({ index: i, received_bytes: (i + 1) * CHUNK });
    }
    // Chunk 2 is cut off after 1 MiB: the client aborts mid-body (a dropped network).
    const abort = new AbortController();
    const part = chunk(2);
    const body = new ReadableStream<Uint8Array>({
      start(ctl) {
        ctl.enqueue(part.subarray(0, MiB));
        setTimeout(() => abort.abort(), 200);
      },
    });
    await expect(
      fetch(`${edge.url}/api/recordings/${state.recording_id}/chunks/2`, {
        method: 'PUT',
        headers: { authorization: `MagicKey ${p.keyA.key}`, 'content-type': 'application/octet-stream', 'x-chunk-sha256': sha(part) },
        body,
        signal: abort.signal,
        duplex: 'half',
      } as RequestInit),
    ).rejects.toThrow();

    // A new page load knows only the file and its id: the server says where to go on.
    const again = (await (await announce(p.keyA.key, { ...meta, recording_id: state.recording_id })).json()) as UploadState;
    expect(again.received).toEqual([0, 1]);
    const early = await withKey(p.keyA.key, `/api/recordings/${state.recording_id}/complete`, { method: 'POST' });
    const incomplete = (await early.json()) as { error: { code: string; message: string } };
    expect({ status: early.status, code: incomplete.error.code }).toEqual({ status: 422, code: 'incomplete' });
    expect(incomplete.error.message).toMatch(/^chunks 2, 3, 4, .*, 24 have not arrived/);
    for (let i = 0; i < again.chunks; i++) if (!again.received.includes(i)) expect((await putChunk(p.keyA.key, state.recording_id, i, chunk(i))).status).toBe(200);
    const done = await withKey(p.keyA.key, `/api/recordings/${state.recording_id}/complete`, { method: 'POST' });
    expect(await done.json()).toEqual({ status: 'complete', sha256_verified: true });

    // In R2 itself, byte for byte.
    const row = (await db.db.execute({ sql: 'SELECT storage_key, upload_status, video_size_bytes, video_uploaded_bytes, session_id FROM recordings WHERE recording_id = ?', args: [state.recording_id] })).rows[0]!;
    expect(row).toMatchObject({ upload_status: 'complete', video_size_bytes: file.length, video_uploaded_bytes: file.length, session_id: surveyA });
    expect(String(row.storage_key)).toMatch(new RegExp(`^recordings/${surveyA}/${state.recording_id}-[A-Za-z0-9_-]{22}\\.webm$`));
    const bucket = await edge.mf.getR2Bucket('RECORDINGS');
    const obj = await bucket.get(String(row.storage_key));
    expect(sha(new Uint8Array(await obj!.arrayBuffer()))).toBe(meta.sha256);
    // The chunks waited as objects of their own; once assembled they are gone.
    expect((await bucket.list({ prefix: `${String(row.storage_key)}.chunks/` })).objects).toHaveLength(0);

    // Through the analyst's route, whole and by Range (video seeking).
    const as = asPrincipal(edge.url, p, 'analystOfKey');
    const whole = await as('GET', `/api/recordings/${state.recording_id}/content`);
    expect(whole.status).toBe(200);
    expect(whole.headers.get('accept-ranges')).toBe('bytes');
    expect(sha(new Uint8Array(await whole.arrayBuffer()))).toBe(meta.sha256);
    const ranged = await fetch(`${edge.url}/api/recordings/${state.recording_id}/content`, { headers: { cookie: p.cookie.analystOfKey, range: 'bytes=1000-1999' } });
    expect(ranged.status).toBe(206);
    expect(ranged.headers.get('content-range')).toBe(`bytes 1000-1999/${file.length}`);
    expect(Buffer.from(await ranged.arrayBuffer()).equals(Buffer.from(file.subarray(1000, 2000)))).toBe(true);
    const tail = await fetch(`${edge.url}/api/recordings/${state.recording_id}/content`, { headers: { cookie: p.cookie.analystOfKey, range: 'bytes=-10' } });
    expect(Buffer.from(await tail.arrayBuffer()).equals(Buffer.from(file.subarray(file.length - 10)))).toBe(true);
    expect((await fetch(`${edge.url}/api/recordings/${state.recording_id}/content`, { headers: { cookie: p.cookie.analystOfKey, range: `bytes=${file.length}-` } })).status).toBe(416);

    const metaView = (await (await as('GET', `/api/recordings/${state.recording_id}`)).json()) as Record<string, unknown>;
    expect(metaView).toMatchObject({ survey_session_id: surveyA, kind: 'video', status: 'complete', size_bytes: file.length, sha256: meta.sha256, notes: 'walk 1', device_info: { ua: 'test' } });
    // Only those who may see the survey see the recording.
    expect((await asPrincipal(edge.url, p, 'analystOther')('GET', `/api/recordings/${state.recording_id}`)).status).toBe(404);
    expect((await asPrincipal(edge.url, p, 'anonymous')('GET', `/api/recordings/${state.recording_id}/content`)).status).toBe(401);
    expect((await asPrincipal(edge.url, p, 'disabled')('GET', `/api/recordings/${state.recording_id}`)).status).toBe(401);
  }, 120_000);

  it('a corrupted chunk gets 422 checksum_mismatch and nothing is stored', async () => {
    const file = new Uint8Array(randomBytes(CHUNK + 1000));
    const state = (await (await announce(p.keyA.key, { survey_session_id: surveyA, kind: 'sensors', size_bytes: file.length, sha256: sha(file), mime: 'application/x-ndjson' })).json()) as UploadState;
    const bad = new Uint8Array(file.subarray(0, CHUNK));
    bad[12345] = bad[12345]! ^ 0xff;
    expect(await errorCode(await putChunk(p.keyA.key, state.recording_id, 0, bad, sha(file.subarray(0, CHUNK))))).toEqual({ status: 422, code: 'checksum_mismatch' });
    const chunks = await db.db.execute({ sql: 'SELECT count(*) AS n FROM recording_chunks WHERE recording_id = ?', args: [state.recording_id] });
    expect(Number(chunks.rows[0]!.n)).toBe(0);
    const key = (await db.db.execute({ sql: 'SELECT storage_key FROM recordings WHERE recording_id = ?', args: [state.recording_id] })).rows[0]!.storage_key;
    expect((await (await edge.mf.getR2Bucket('RECORDINGS')).list({ prefix: String(key) })).objects).toHaveLength(0);
    const resumed = (await (await announce(p.keyA.key, { survey_session_id: surveyA, recording_id: state.recording_id, kind: 'sensors', size_bytes: file.length, sha256: sha(file), mime: 'application/x-ndjson' })).json()) as UploadState;
    expect(resumed.received).toEqual([]);
    // A wrongly sized chunk is refused too, and the right ones complete it.
    expect((await errorCode(await putChunk(p.keyA.key, state.recording_id, 1, file.subarray(CHUNK, CHUNK + 10)))).code).toBe('invalid_request');
    expect((await putChunk(p.keyA.key, state.recording_id, 0, file.subarray(0, CHUNK))).status).toBe(200);
    expect((await putChunk(p.keyA.key, state.recording_id, 1, file.subarray(CHUNK))).status).toBe(200);
    expect((await withKey(p.keyA.key, `/api/recordings/${state.recording_id}/complete`, { method: 'POST' })).status).toBe(200);
  });

  it('a file whose chunks are right but whole is not what was announced is discarded', async () => {
    const file = new Uint8Array(randomBytes(1000));
    const state = (await (await announce(p.keyA.key, { survey_session_id: surveyA, kind: 'sensors', size_bytes: file.length, sha256: sha(new Uint8Array(1000)), mime: 'application/x-ndjson' })).json()) as UploadState;
    expect((await putChunk(p.keyA.key, state.recording_id, 0, file)).status).toBe(200);
    expect(await errorCode(await withKey(p.keyA.key, `/api/recordings/${state.recording_id}/complete`, { method: 'POST' }))).toEqual({ status: 422, code: 'checksum_mismatch' });
    const row = (await db.db.execute({ sql: 'SELECT upload_status, storage_key FROM recordings WHERE recording_id = ?', args: [state.recording_id] })).rows[0]!;
    expect(row.upload_status).toBe('failed');
    expect(await (await edge.mf.getR2Bucket('RECORDINGS')).head(String(row.storage_key))).toBeNull();
  });

  it('an upload to another key\'s survey gets 403; no key gets 401; an unknown key 403 key_invalid', async () => {
    const body = { survey_session_id: surveyB, kind: 'video', size_bytes: 100, sha256: 'a'.repeat(64), mime: 'video/webm' };
    expect(await errorCode(await announce(p.keyA.key, body))).toEqual({ status: 403, code: 'forbidden' });
    expect(await errorCode(await fetch(`${edge.url}/api/recordings`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }))).toEqual({ status: 401, code: 'auth_required' });
    expect(await errorCode(await announce('np_not_a_key', body))).toEqual({ status: 403, code: 'key_invalid' });
    // The analyst of key A may not upload to key B's survey either: to them it does not exist.
    expect((await asPrincipal(edge.url, p, 'analystOfKey')('POST', '/api/recordings', body)).status).toBe(404);
    expect((await asPrincipal(edge.url, p, 'analystOther')('POST', '/api/recordings', { ...body, sha256: 'b'.repeat(64) })).status).toBe(200);
  });

  it('refuses a recording over the size limit and one over the key\'s quota before storing anything', async () => {
    const count = async () => Number((await db.db.execute("SELECT count(*) AS n FROM recordings WHERE magic_key = ? AND upload_status <> 'failed'", [p.keyA.key])).rows[0]!.n);
    const before = await count();
    const big = { survey_session_id: surveyA, kind: 'video', size_bytes: 41 * MiB, sha256: 'c'.repeat(64), mime: 'video/webm' };
    expect(await errorCode(await announce(p.keyA.key, big))).toEqual({ status: 413, code: 'too_large' });
    // 25 MiB + ~1 MiB are kept for key A; 35 MiB more would pass 60 MiB.
    expect(await errorCode(await announce(p.keyA.key, { ...big, size_bytes: 35 * MiB }))).toEqual({ status: 413, code: 'quota_exceeded' });
    expect(await count()).toBe(before);
  });

  it('validates the announcement and the chunk header, naming the field', async () => {
    const resp = await announce(p.keyA.key, { survey_session_id: surveyA, kind: 'video', size_bytes: 10, sha256: 'xyz', mime: 'text/html' });
    const err = (await resp.json()) as { error: { code: string; message: string } };
    expect(resp.status).toBe(400);
    expect(err.error.message).toMatch(/sha256|mime/);
    const state = (await (await announce(p.keyA.key, { survey_session_id: surveyA, kind: 'sensors', size_bytes: 10, sha256: 'd'.repeat(64), mime: 'application/json' })).json()) as UploadState;
    const noHeader = await withKey(p.keyA.key, `/api/recordings/${state.recording_id}/chunks/0`, { method: 'PUT', headers: { 'content-type': 'application/octet-stream' }, body: new Uint8Array(10) });
    expect(await errorCode(noHeader)).toEqual({ status: 400, code: 'invalid_request' });
    expect((await errorCode(await putChunk(p.keyA.key, state.recording_id, 7, new Uint8Array(10)))).code).toBe('invalid_request');
  });
});
