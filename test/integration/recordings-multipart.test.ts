// Recordings assembled as they arrive (issue 20, item 3), with the edge in workerd, its local R2 and real
// libSQL, every object-store call of each request counted: a 30 MiB file goes up in 1 MiB chunks, each
// request doing at most one 5 MiB part's work and `complete` a single call; a dropped chunk resumes from
// the server's answer; the stored object's SHA-256 is checked with node:crypto. A purge leaves no chunk
// object behind however many there are, and the scheduled sweep removes an abandoned upload.
import { createHash, randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { insertSurveySession } from '../../shared/db/surveys.js';
import { chunkKey, chunkPrefix } from '../../edge/recordings/assemble.js';
import type { R2Op } from '../helpers/r2-counting-worker.js';
import { asPrincipal, setUpPrincipals, type Principals } from '../helpers/principals.js';
import { useEdgeOverDbProxy } from '../helpers/use-system.js';

const MiB = 1024 * 1024;
const CHUNK = MiB;
const PART = 5 * MiB;
const ABANDON_S = 3600;

// The edge reaches the database through a proxy that can hold answers back (the race test).
const sys = useEdgeOverDbProxy({
  countR2: true,
  vars: { RECORDING_MAX_BYTES: String(64 * MiB), RECORDING_KEY_QUOTA_BYTES: String(1024 * MiB), RECORDING_CHUNK_BYTES: String(CHUNK), RECORDING_ABANDON_S: String(ABANDON_S) },
});
let p: Principals;

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

beforeAll(async () => {
  p = await setUpPrincipals(sys.db.db, sys.edge.url, 'mp');
});

async function newSurvey(): Promise<string> {
  const id = crypto.randomUUID();
  await sys.db.db.execute(insertSurveySession({ session_id: id, magic_key: p.keyA.key, user_login: null, now: Date.now() }));
  return id;
}

/** A technician's request with key A, and the object-store calls it made. */
async function call(path: string, init: Omit<RequestInit, 'headers'> & { headers?: Record<string, string> } = {}): Promise<{ resp: Response; ops: R2Op[] }> {
  const resp = await fetch(`${sys.edge.url}${path}`, { ...init, headers: { authorization: `MagicKey ${p.keyA.key}`, ...init.headers } });
  return { resp, ops: JSON.parse(resp.headers.get('x-test-r2-ops') ?? 'null') as R2Op[] };
}

const announce = (body: Record<string, unknown>) => call('/api/recordings', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
const putChunk = (id: string, index: number, bytes: Uint8Array) =>
  call(`/api/recordings/${id}/chunks/${index}`, { method: 'PUT', headers: { 'content-type': 'application/octet-stream', 'x-chunk-sha256': sha(bytes) }, body: bytes as Uint8Array<ArrayBuffer> });
const complete = (id: string) => call(`/api/recordings/${id}/complete`, { method: 'POST' });

interface UploadState {
  recording_id: string;
  chunks: number;
  received: number[];
}

const bucket = () => sys.edge.mf.getR2Bucket('RECORDINGS');
const objectsUnder = async (prefix: string) => (await (await bucket()).list({ prefix })).objects.map((o) => o.key);
const recordingRow = async (id: string) => (await sys.db.db.execute({ sql: 'SELECT * FROM recordings WHERE recording_id = ?', args: [id] })).rows[0];
const chunkRows = async (id: string) => Number((await sys.db.db.execute({ sql: 'SELECT count(*) AS n FROM recording_chunks WHERE recording_id = ?', args: [id] })).rows[0]!.n);

/** The bytes a request read from and wrote to the object store, and its calls by name. */
function work(ops: R2Op[]): { read: number; written: number; calls: Record<string, number> } {
  const calls: Record<string, number> = {};
  for (const o of ops) calls[o.op] = (calls[o.op] ?? 0) + 1;
  const sum = (pick: (o: R2Op) => boolean) => ops.filter(pick).reduce((n, o) => n + o.bytes, 0);
  return { read: sum((o) => o.op === 'get'), written: sum((o) => o.op !== 'get'), calls };
}

describe('recordings assembled as they arrive', () => {
  it('a 30 MiB recording goes up in parts, resumes after a dropped chunk, and no request does more than one part\'s work; complete is one call', async () => {
    const survey = await newSurvey();
    const file = new Uint8Array(randomBytes(30 * MiB));
    const meta = { survey_session_id: survey, kind: 'video', size_bytes: file.length, sha256: sha(file), mime: 'video/webm' };
    const first = await announce(meta);
    expect(first.ops).toEqual([]);
    const state = (await first.resp.json()) as UploadState;
    expect(state).toMatchObject({ chunks: 30, received: [] });
    const id = state.recording_id;
    const chunk = (i: number) => file.subarray(i * CHUNK, (i + 1) * CHUNK);
    const storageKey = String((await recordingRow(id))!.storage_key);
    const perRequest: ({ what: string } & ReturnType<typeof work>)[] = [];
    const send = async (i: number) => {
      const { resp, ops } = await putChunk(id, i, chunk(i));
      expect(resp.status, `chunk ${i}`).toBe(200);
      perRequest.push({ what: `chunk ${i}`, ...work(ops) });
      return (await resp.json()) as { index: number; received_bytes: number };
    };

    for (let i = 0; i < 7; i++) expect(await send(i)).toEqual({ index: i, received_bytes: (i + 1) * CHUNK });
    // Part 1 (chunks 0–4) is uploaded and its chunks' objects gone; chunks 5 and 6 wait for part 2.
    expect(await objectsUnder(chunkPrefix(storageKey))).toEqual([chunkKey(storageKey, 5), chunkKey(storageKey, 6)]);
    // Chunks come in order: the whole file's SHA-256 runs along them.
    const early = await putChunk(id, 9, chunk(9));
    expect(early.resp.status).toBe(409);
    expect(((await early.resp.json()) as { error: { message: string } }).error.message).toMatch(/chunk 7 comes next/);
    expect(early.ops).toEqual([]);

    // Chunk 7 is cut off half-way (a dropped network): nothing of it is kept.
    const abort = new AbortController();
    const body = new ReadableStream<Uint8Array>({
      start(ctl) {
        ctl.enqueue(chunk(7).subarray(0, CHUNK / 2));
        setTimeout(() => abort.abort(), 200);
      },
    });
    await expect(
      fetch(`${sys.edge.url}/api/recordings/${id}/chunks/7`, {
        method: 'PUT',
        headers: { authorization: `MagicKey ${p.keyA.key}`, 'content-type': 'application/octet-stream', 'x-chunk-sha256': sha(chunk(7)) },
        body,
        signal: abort.signal,
        duplex: 'half',
      } as RequestInit),
    ).rejects.toThrow();
    const again = (await (await announce({ ...meta, recording_id: id })).resp.json()) as UploadState;
    expect(again.received).toEqual([0, 1, 2, 3, 4, 5, 6]);
    const incomplete = await complete(id);
    expect(incomplete.resp.status).toBe(422);
    expect(incomplete.ops).toEqual([]);

    for (let i = 7; i < 30; i++) await send(i);
    // A repeat of a chunk whose answer was lost is answered the same and uploads nothing again.
    const repeat = await putChunk(id, 9, chunk(9));
    expect(await repeat.resp.json()).toEqual({ index: 9, received_bytes: 30 * MiB });
    expect(repeat.ops.filter((o) => o.op !== 'delete')).toEqual([]);

    // No request wrote more than one part or read back more than the part's earlier chunks, nor made more calls than a part's chunks and two.
    for (const r of perRequest) {
      expect(r.written, r.what).toBeLessThanOrEqual(PART);
      expect(r.read, r.what).toBeLessThanOrEqual(PART - CHUNK);
      expect(Object.values(r.calls).reduce((a, b) => a + b, 0), r.what).toBeLessThanOrEqual(PART / CHUNK + 2);
    }
    // Each closing chunk uploaded its part; the others only waited as an object.
    expect(perRequest.filter((r) => r.calls.uploadPart).map((r) => r.what)).toEqual(['chunk 4', 'chunk 9', 'chunk 14', 'chunk 19', 'chunk 24', 'chunk 29']);
    expect(perRequest.find((r) => r.what === 'chunk 5')).toEqual({ what: 'chunk 5', read: 0, written: CHUNK, calls: { put: 1 } });
    expect(perRequest.find((r) => r.what === 'chunk 0')!.calls).toEqual({ createMultipartUpload: 1, put: 1 });
    expect(perRequest.find((r) => r.what === 'chunk 29')).toEqual({ what: 'chunk 29', read: 4 * CHUNK, written: PART, calls: { get: 4, uploadPart: 1, delete: 1 } });

    const done = await complete(id);
    expect(await done.resp.json()).toEqual({ status: 'complete', sha256_verified: true });
    expect(done.ops).toEqual([{ op: 'completeMultipartUpload', bytes: 0 }]);

    // The stored object, hashed here independently, is the file; nothing waits under the chunk prefix.
    const obj = await (await bucket()).get(storageKey);
    const stored = new Uint8Array(await obj!.arrayBuffer());
    expect(stored.length).toBe(file.length);
    expect(createHash('sha256').update(stored).digest('hex')).toBe(meta.sha256);
    expect(await objectsUnder(chunkPrefix(storageKey))).toEqual([]);
    expect(await recordingRow(id)).toMatchObject({ upload_status: 'complete', video_uploaded_bytes: file.length });
    expect(await chunkRows(id)).toBe(0);
    const ranged = await fetch(`${sys.edge.url}/api/recordings/${id}/content`, { headers: { cookie: p.cookie.analystOfKey, range: `bytes=${7 * MiB - 5}-${7 * MiB + 4}` } });
    expect(Buffer.from(await ranged.arrayBuffer()).equals(Buffer.from(file.subarray(7 * MiB - 5, 7 * MiB + 5)))).toBe(true);
  }, 180_000);

  it('a file whose bytes are not the announced ones fails at complete with one call, its upload aborted', async () => {
    const survey = await newSurvey();
    const file = new Uint8Array(randomBytes(6 * MiB + 10));
    const state = (await (await announce({ survey_session_id: survey, kind: 'video', size_bytes: file.length, sha256: sha(new Uint8Array(file.length)), mime: 'video/webm' })).resp.json()) as UploadState;
    for (let i = 0; i < state.chunks; i++) expect((await putChunk(state.recording_id, i, file.subarray(i * CHUNK, (i + 1) * CHUNK))).resp.status).toBe(200);
    const failed = await complete(state.recording_id);
    expect(failed.resp.status).toBe(422);
    expect(failed.ops).toEqual([{ op: 'abortMultipartUpload', bytes: 0 }]);
    const row = (await recordingRow(state.recording_id))!;
    expect(row.upload_status).toBe('failed');
    expect(await objectsUnder(String(row.storage_key))).toEqual([]);
  }, 60_000);

  it('two requests for the same chunk that both read the state before either commits: one takes it, both are answered 200, and the file is right', async () => {
    const survey = await newSurvey();
    const file = new Uint8Array(randomBytes(7 * MiB));
    const state = (await (await announce({ survey_session_id: survey, kind: 'video', size_bytes: file.length, sha256: sha(file), mime: 'video/webm' })).resp.json()) as UploadState;
    const id = state.recording_id;
    const chunk = (i: number) => file.subarray(i * CHUNK, (i + 1) * CHUNK);
    const storageKey = String((await recordingRow(id))!.storage_key);
    // Chunk 0 (which opens the multipart upload), chunk 2 (waits as an object) and chunk 4 (closes part 1), each sent twice at once.
    for (const i of [0, 1, 2, 3, 4]) {
      if (i === 1 || i === 3) {
        expect((await putChunk(id, i, chunk(i))).resp.status).toBe(200);
        continue;
      }
      const both = sys.proxy.holdAnswers((body) => body.includes('SELECT * FROM recordings WHERE recording_id') && body.includes(id), 2);
      const sent = [putChunk(id, i, chunk(i)), putChunk(id, i, chunk(i))];
      await both.held;
      both.release();
      const answers = await Promise.all(sent);
      expect(await Promise.all(answers.map(async (a) => [a.resp.status, await a.resp.json()])), `chunk ${i}`).toEqual([
        [200, { index: i, received_bytes: (i + 1) * CHUNK }],
        [200, { index: i, received_bytes: (i + 1) * CHUNK }],
      ]);
    }
    expect(await chunkRows(id)).toBe(5);
    // The losing request's second multipart upload was aborted, and part 1's chunk objects are gone.
    expect(await objectsUnder(chunkPrefix(storageKey))).toEqual([]);
    for (const i of [5, 6]) expect((await putChunk(id, i, chunk(i))).resp.status).toBe(200);
    expect(await (await complete(id)).resp.json()).toEqual({ status: 'complete', sha256_verified: true });
    expect(sha(new Uint8Array(await (await (await bucket()).get(storageKey))!.arrayBuffer()))).toBe(sha(file));
  }, 60_000);

  it('a purge of a survey whose uploads hold 1,200 chunk objects leaves none behind and aborts the open upload', async () => {
    const survey = await newSurvey();
    const file = new Uint8Array(randomBytes(3 * MiB));
    const open = (await (await announce({ survey_session_id: survey, kind: 'video', size_bytes: 12 * MiB, sha256: sha(file), mime: 'video/webm' })).resp.json()) as UploadState;
    for (let i = 0; i < 3; i++) expect((await putChunk(open.recording_id, i, file.subarray(i * CHUNK, (i + 1) * CHUNK))).resp.status).toBe(200);
    const openRow = (await recordingRow(open.recording_id))!;
    // Chunks 0–2 of the open one wait as objects (their part is not full). An upload under way when migration 20 restarted it: 1,200 chunk objects and no chunk rows.
    const legacy = (await (await announce({ survey_session_id: survey, kind: 'sensors', size_bytes: 1200 * 100, sha256: 'a'.repeat(64), mime: 'application/x-ndjson' })).resp.json()) as UploadState;
    const legacyKey = String((await recordingRow(legacy.recording_id))!.storage_key);
    const b = await bucket();
    for (let i = 0; i < 1200; i += 100) await Promise.all(Array.from({ length: 100 }, (_, j) => b.put(chunkKey(legacyKey, i + j), 'x'.repeat(100))));
    const prefix = `recordings/${encodeURIComponent(survey)}/`;
    const before = await b.list({ prefix, limit: 1000 });
    expect(before.truncated).toBe(true);

    const purged = await asPrincipal(sys.edge.url, p, 'admin')('DELETE', `/api/surveys/${survey}?purge=true`);
    expect(purged.status).toBe(204);
    expect((await b.list({ prefix })).objects).toEqual([]);
    expect(await recordingRow(open.recording_id)).toBeUndefined();
    // The open multipart upload is gone too: a part can no longer be added to it.
    await expect(b.resumeMultipartUpload(String(openRow.storage_key), String(openRow.upload_id)).uploadPart(2, new Uint8Array(10))).rejects.toThrow();
    const audit = (await sys.db.db.execute({ sql: "SELECT detail FROM audit_log WHERE action = 'survey_purge' AND subject = ?", args: [survey] })).rows[0]!;
    expect(JSON.parse(String(audit.detail))).toMatchObject({ recordings: 2, objects_deleted: 2 + 3 + 1200 });
  }, 120_000);

  it('the scheduled sweep removes an upload abandoned for RECORDING_ABANDON_S (multipart upload, chunk objects, rows) and nothing else', async () => {
    const survey = await newSurvey();
    const file = new Uint8Array(randomBytes(2 * MiB + 5));
    const upload = async (chunks: number) => {
      const s = (await (await announce({ survey_session_id: survey, kind: 'video', size_bytes: file.length, sha256: sha(file), mime: 'video/webm' })).resp.json()) as UploadState;
      for (let i = 0; i < chunks; i++) expect((await putChunk(s.recording_id, i, file.subarray(i * CHUNK, (i + 1) * CHUNK))).resp.status).toBe(200);
      return s.recording_id;
    };
    const abandoned = await upload(2);
    const busy = await upload(1);
    const finished = await upload(3);
    expect((await complete(finished)).resp.status).toBe(200);
    const silentAnnounce = (await (await announce({ survey_session_id: survey, kind: 'sensors', size_bytes: 10, sha256: 'b'.repeat(64), mime: 'application/x-ndjson' })).resp.json()) as UploadState;
    // Announced two hours ago; `busy` took a chunk a minute ago, the others nothing since.
    const old = Date.now() - 2 * ABANDON_S * 1000;
    await sys.db.db.batch(
      [
        { sql: 'UPDATE recordings SET created_at = ? WHERE recording_id IN (?, ?, ?, ?)', args: [old, abandoned, busy, finished, silentAnnounce.recording_id] },
        { sql: 'UPDATE recording_chunks SET created_at = ? WHERE recording_id = ?', args: [old, abandoned] },
        { sql: 'UPDATE recording_chunks SET created_at = ? WHERE recording_id = ?', args: [Date.now() - 60_000, busy] },
      ],
      'write',
    );
    const row = (await recordingRow(abandoned))!;
    expect(await objectsUnder(chunkPrefix(String(row.storage_key)))).toHaveLength(2);

    const run = await (await sys.edge.mf.getWorker()).scheduled({ cron: '17 * * * *' });
    expect(run.outcome).toBe('ok');

    expect(await recordingRow(abandoned)).toBeUndefined();
    expect(await recordingRow(silentAnnounce.recording_id)).toBeUndefined();
    expect(await chunkRows(abandoned)).toBe(0);
    expect(await objectsUnder(String(row.storage_key))).toEqual([]);
    await expect((await bucket()).resumeMultipartUpload(String(row.storage_key), String(row.upload_id)).uploadPart(2, new Uint8Array(10))).rejects.toThrow();
    // The upload still under way and the finished one are untouched.
    expect(await recordingRow(busy)).toMatchObject({ upload_status: 'pending' });
    expect((await putChunk(busy, 1, file.subarray(CHUNK, 2 * CHUNK))).resp.status).toBe(200);
    const done = (await recordingRow(finished))!;
    expect(done.upload_status).toBe('complete');
    expect(sha(new Uint8Array(await (await (await bucket()).get(String(done.storage_key)))!.arrayBuffer()))).toBe(sha(file));
  }, 60_000);
});
