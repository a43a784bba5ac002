// /api/recordings (PROTOCOL.md §4): announce a file, upload it in SHA-256-checked chunks that resume, complete
// it with a whole-file check, and read it back (metadata, content with HTTP Range).
import { Hono, type Context } from 'hono';
import * as z from 'zod';
import { randomToken } from '../../shared/ids.js';
import { sha256HexOfBytes } from '../../shared/signing.js';
import { findRecording, finishRecording, insertRecording, recordChunk, recordingChunks, type RecordingRow } from '../../shared/db/recordings.js';
import { RecordingCreateSchema, Sha256HexSchema, type RecordingUploadState, type RecordingView } from '../../shared/protocol/recordings.js';
import { readCapped, readJsonBody } from '../body.js';
import { withDb } from '../db.js';
import type { EdgeEnv } from '../env.js';
import { HttpError } from '../errors.js';
import { requireViewer } from '../auth/viewer.js';
import { findVisibleSurvey } from '../console-api/survey-access.js';
import { parseByteRange } from './byte-range.js';
import { assembleChunks, chunkKey, chunkKeys } from './assemble.js';
import { deleteObjects, objectStore } from './object-store.js';
import { admitUploader } from './uploader.js';

const IdSchema = z.uuid();
const IndexSchema = z.coerce.number().int().min(0).max(100_000);

const chunkCount = (r: Pick<RecordingRow, 'size_bytes' | 'chunk_bytes'>) => Math.ceil(r.size_bytes / r.chunk_bytes);
const chunkSize = (r: Pick<RecordingRow, 'size_bytes' | 'chunk_bytes'>, idx: number) => Math.min(r.chunk_bytes, r.size_bytes - idx * r.chunk_bytes);
const extension = (mime: string) => (mime.startsWith('video/mp4') ? 'mp4' : mime.startsWith('video/') || mime.startsWith('audio/') ? 'webm' : 'ndjson');

function uploadState(r: RecordingRow, received: number[]): RecordingUploadState {
  return { recording_id: r.recording_id, chunk_bytes: r.chunk_bytes, chunks: chunkCount(r), received, status: r.status === 'complete' ? 'complete' : 'pending' };
}

/** A recording as the API shows it. */
export function recordingView(r: RecordingRow): RecordingView {
  return {
    recording_id: r.recording_id,
    survey_session_id: r.session_id,
    kind: r.kind,
    mime: r.mime,
    size_bytes: r.size_bytes,
    sha256: r.sha256,
    status: r.status,
    uploaded_bytes: r.uploaded_bytes,
    started_at: r.started_at,
    created_at: r.created_at,
    completed_at: r.completed_at,
    device_info: r.device_info_json ? (JSON.parse(r.device_info_json) as Record<string, unknown>) : null,
    notes: r.user_notes,
  };
}

/** Said to every step of a failed recording's upload: its objects are gone and its id is spent. */
const FAILED_WORDS = 'this recording failed its whole-file check and was discarded; a new attempt needs a new recording_id';

/** A recording the caller may upload to (the same admission as its survey), or 404. */
async function uploadable(c: Context<EdgeEnv>, id: string) {
  const parsed = IdSchema.safeParse(id);
  if (!parsed.success) throw new HttpError('not_found', 'no such recording');
  return withDb(c.get('config'), async (db) => {
    const rec = await findRecording(db, parsed.data);
    if (!rec || rec.deleted) throw new HttpError('not_found', 'no such recording');
    await admitUploader(c, db, rec.session_id);
    return rec;
  });
}

/** A recording a logged-in person may see (through its survey), or 404. */
async function visible(c: Context<EdgeEnv>, id: string): Promise<RecordingRow> {
  const viewer = await requireViewer(c);
  const parsed = IdSchema.safeParse(id);
  if (!parsed.success) throw new HttpError('not_found', 'no such recording');
  return withDb(c.get('config'), async (db) => {
    const rec = await findRecording(db, parsed.data);
    if (!rec) throw new HttpError('not_found', 'no such recording');
    await findVisibleSurvey(db, viewer, rec.session_id, true);
    if (rec.deleted && viewer.role !== 'admin') throw new HttpError('not_found', 'no such recording');
    return rec;
  });
}

/** Routes under /api/recordings. */
export function recordingRoutes(): Hono<EdgeEnv> {
  const app = new Hono<EdgeEnv>();

  // Announce a file, or (same recording_id) ask where its upload stands: the answer is the resume point.
  app.post('/', async (c) => {
    const config = c.get('config');
    const body = await readJsonBody(c.req.raw, RecordingCreateSchema, config.maxBodyBytes);
    const limits = config.recordings;
    if (body.size_bytes > limits.maxBytes) throw new HttpError('too_large', `size_bytes: a recording may be at most ${limits.maxBytes} bytes`);
    // A missing bucket is said before anything is recorded.
    objectStore(c);
    const state = await withDb(config, async (db) => {
      const who = await admitUploader(c, db, body.survey_session_id);
      if (body.recording_id) {
        const known = await findRecording(db, body.recording_id);
        if (known) {
          if (known.session_id !== body.survey_session_id || known.sha256 !== body.sha256 || known.size_bytes !== body.size_bytes || known.kind !== body.kind) {
            throw new HttpError('conflict', 'recording_id: a different file was announced under this id');
          }
          if (known.deleted) throw new HttpError('not_found', 'this recording was deleted');
          if (known.status === 'failed') throw new HttpError('conflict', `recording_id: ${FAILED_WORDS}`);
          // A complete recording's chunk rows are gone: every chunk is held.
          const held = known.status === 'complete' ? [...Array(chunkCount(known)).keys()] : (await recordingChunks(db, known.recording_id)).map((ch) => ch.idx);
          return uploadState(known, held);
        }
      }
      const id = body.recording_id ?? crypto.randomUUID();
      // Unguessable and collision-free: the survey, the id, and 128 random bits.
      const storageKey = `recordings/${encodeURIComponent(body.survey_session_id)}/${id}-${randomToken(16)}.${extension(body.mime)}`;
      const row = {
        recording_id: id,
        session_id: body.survey_session_id,
        kind: body.kind,
        mime: body.mime,
        size_bytes: body.size_bytes,
        sha256: body.sha256,
        chunk_bytes: limits.chunkBytes,
        upload_id: null,
        storage_key: storageKey,
        magic_key: who.magicKey,
        started_at: body.started_at ?? null,
        device_info_json: body.device_info ? JSON.stringify(body.device_info) : null,
        user_notes: body.notes ?? null,
        uploaded_by: who.login,
        created_at: Date.now(),
      } as const;
      // The quota is checked in the insert itself, before any byte is stored.
      const inserted = await insertRecording(db, row, limits.keyQuotaBytes);
      if (!inserted.ok && inserted.reason === 'exists') throw new HttpError('conflict', 'recording_id: announced twice at once; announce it again to get its state');
      if (!inserted.ok) {
        throw new HttpError('quota_exceeded', `this key's recordings would take ${inserted.usedBytes + body.size_bytes} bytes, over its quota of ${limits.keyQuotaBytes}; ask an analyst to delete old recordings`);
      }
      return uploadState({ ...row, status: 'pending', uploaded_bytes: 0, completed_at: null, deleted: false }, []);
    });
    return c.json(state);
  });

  app.put('/:id/chunks/:index', async (c) => {
    const rec = await uploadable(c, c.req.param('id'));
    const idx = IndexSchema.safeParse(c.req.param('index'));
    if (!idx.success || idx.data >= chunkCount(rec)) throw new HttpError('invalid_request', `index: must be 0…${chunkCount(rec) - 1}`);
    const declared = Sha256HexSchema.safeParse(c.req.header('x-chunk-sha256')?.toLowerCase());
    if (!declared.success) throw new HttpError('invalid_request', 'X-Chunk-SHA256: the chunk\'s SHA-256 in 64 hex digits is required');
    if (rec.status === 'complete') throw new HttpError('conflict', 'this recording is complete already');
    if (rec.status === 'failed') throw new HttpError('conflict', FAILED_WORDS);
    const expected = chunkSize(rec, idx.data);
    const bytes = (await readCapped(c.req.raw, expected)) as Uint8Array<ArrayBuffer>;
    if (bytes.byteLength !== expected) throw new HttpError('invalid_request', `body: chunk ${idx.data} must be ${expected} bytes, got ${bytes.byteLength}`);
    if ((await sha256HexOfBytes(bytes)) !== declared.data) throw new HttpError('checksum_mismatch', `chunk ${idx.data}: its SHA-256 is not the one declared; nothing was stored, send it again`);
    const store = objectStore(c);
    const key = chunkKey(rec.storage_key, idx.data);
    const stored = await store.put(key, bytes);
    const received = await withDb(c.get('config'), (db) => recordChunk(db, rec.recording_id, rec.kind, { idx: idx.data, size: expected, sha256: declared.data, etag: stored?.etag ?? '' }));
    if (received === null) {
      // Completed, failed or deleted while this chunk was on its way: nothing will assemble or count it.
      await store.delete(key);
      throw new HttpError('conflict', 'this recording stopped taking chunks while this one arrived (completed, failed or deleted)');
    }
    return c.json({ index: idx.data, received_bytes: received });
  });

  app.post('/:id/complete', async (c) => {
    const rec = await uploadable(c, c.req.param('id'));
    if (rec.status === 'complete') return c.json({ status: 'complete', sha256_verified: true });
    if (rec.status === 'failed') throw new HttpError('conflict', FAILED_WORDS);
    const store = objectStore(c);
    const config = c.get('config');
    const chunks = await withDb(config, (db) => recordingChunks(db, rec.recording_id));
    const have = new Set(chunks.map((ch) => ch.idx));
    const missing = [...Array(chunkCount(rec)).keys()].filter((i) => !have.has(i));
    if (missing.length) throw new HttpError('incomplete', `chunks ${missing.join(', ')} have not arrived; send them, then complete again`);
    const file = await assembleChunks(store, rec.storage_key, chunkCount(rec), rec.mime);
    const chunkObjects = chunkKeys(rec.storage_key, chunkCount(rec));
    const verified = file.sha256 === rec.sha256 && file.size === rec.size_bytes;
    // A failed recording stops counting toward the quota, so its objects go first: if deleting fails it stays pending and counted.
    if (!verified) await deleteObjects(store, [rec.storage_key, ...chunkObjects]);
    await withDb(config, (db) => finishRecording(db, rec.recording_id, verified ? 'complete' : 'failed'));
    // A chunk stored while this ran but recorded before the status moved would be left behind: swept now (later ones remove themselves).
    await deleteObjects(store, chunkObjects);
    if (!verified) throw new HttpError('checksum_mismatch', 'the assembled file does not have the declared SHA-256; it was discarded: upload it again under a new recording_id');
    return c.json({ status: 'complete', sha256_verified: true });
  });

  app.get('/:id', async (c) => c.json(recordingView(await visible(c, c.req.param('id')))));

  app.get('/:id/content', async (c) => {
    const rec = await visible(c, c.req.param('id'));
    if (rec.status !== 'complete') throw new HttpError('conflict', 'this recording has not finished uploading');
    const range = parseByteRange(c.req.header('range'), rec.size_bytes);
    const headers = new Headers({ 'content-type': rec.mime, 'accept-ranges': 'bytes', 'cache-control': 'private, no-store' });
    if (range.kind === 'unsatisfiable') {
      headers.set('content-range', `bytes */${rec.size_bytes}`);
      throw new HttpError('range_not_satisfiable', `Range: outside the file's ${rec.size_bytes} bytes`);
    }
    const obj = await objectStore(c).get(rec.storage_key, range.kind === 'range' ? { range: { offset: range.offset, length: range.length } } : undefined);
    if (!obj) throw new HttpError('not_found', 'the file is missing from storage');
    if (c.req.query('download') !== undefined) headers.set('content-disposition', `attachment; filename="${rec.kind}-${rec.recording_id}.${extension(rec.mime)}"`);
    if (range.kind === 'range') {
      headers.set('content-range', `bytes ${range.offset}-${range.offset + range.length - 1}/${rec.size_bytes}`);
      headers.set('content-length', String(range.length));
      return new Response(obj.body, { status: 206, headers });
    }
    headers.set('content-length', String(rec.size_bytes));
    return new Response(obj.body, { status: 200, headers });
  });

  return app;
}
