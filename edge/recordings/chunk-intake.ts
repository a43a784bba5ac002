// Takes one chunk of a recording (PUT /api/recordings/{id}/chunks/{index}), checked already against its own
// SHA-256: in order, it moves the whole file's hash state on and either waits as an object or closes its part
// (the part is uploaded to the recording's multipart upload). A request does at most one part's work.
import { chunkRange, chunkStanding, commitChunk, setPartEtag, type ChunkStanding, type RecordingRow } from '../../shared/db/recordings.js';
import { withDb } from '../db.js';
import type { EdgeConfig } from '../config.js';
import { HttpError } from '../errors.js';
import { buildPart, chunkKey, deleteChunkObjects, partLayout, PartSourceError } from './assemble.js';
import type { ObjectStore } from './object-store.js';
import { decodeSha256State, encodeSha256State, sha256Update } from './resumable-sha256.js';

/** What a taken chunk is answered with. */
export interface ChunkReceipt {
  index: number;
  received_bytes: number;
}

const STOPPED = 'this recording stopped taking chunks while this one arrived (completed, failed or deleted)';

/** How many chunks, from the first, the recording has taken: its hash state has seen exactly their bytes. */
export function chunksTaken(r: Pick<RecordingRow, 'hash_state' | 'chunk_bytes'>): number {
  return Math.ceil(decodeSha256State(r.hash_state).length / r.chunk_bytes);
}

/** Takes chunk `idx` (its bytes and their SHA-256) of the pending recording `rec`. */
export async function takeChunk(config: EdgeConfig, store: ObjectStore, rec: RecordingRow, idx: number, bytes: Uint8Array, digest: string): Promise<ChunkReceipt> {
  const next = chunksTaken(rec);
  // The whole file's SHA-256 runs over the chunks in order, so one may not come before those it follows.
  if (idx > next) throw new HttpError('conflict', `chunks are taken in order: chunk ${next} comes next, then ${idx}`);
  const { part, first, last } = partLayout(rec).partOf(idx);
  if (idx < next) return repeatedChunk(config, store, rec, idx, digest, first, last);

  const closes = idx === last;
  const held = closes && idx > first ? await withDb(config, (db) => chunkRange(db, rec.recording_id, first, idx - 1)) : [];
  if (held.length !== (closes ? idx - first : 0)) throw new Error(`recording ${rec.recording_id}: chunks ${first}…${idx - 1} should all be held before chunk ${idx}`);
  const created = rec.upload_id === null || rec.upload_id === '';
  const upload = created ? await store.createMultipartUpload(rec.storage_key, { httpMetadata: { contentType: rec.mime } }) : store.resumeMultipartUpload(rec.storage_key, rec.upload_id!);
  let etag = '';
  let partEtag: string | null = null;
  let partBytes: Uint8Array | null = null;
  try {
    if (closes) {
      partBytes = await buildPart(store, rec.storage_key, held, bytes);
      partEtag = (await upload.uploadPart(part + 1, partBytes)).etag;
    } else {
      etag = (await store.put(chunkKey(rec.storage_key, idx), bytes, { sha256: digest }))?.etag ?? '';
    }
  } catch (e) {
    if (created) await upload.abort();
    if (!(e instanceof PartSourceError)) throw e;
    // Another request for this chunk may have closed the part meanwhile and deleted its chunks: then this is a repeat.
    const now = await withDb(config, (db) => chunkStanding(db, rec.recording_id, rec.kind, idx, idx));
    if (now.part.length > 0) return repeatedChunk(config, store, rec, idx, digest, first, last);
    throw new HttpError('conflict', `${e.message}: part ${part + 1} cannot be built; upload the file again under a new recording_id`);
  }
  const stateAfter = encodeSha256State(sha256Update(decodeSha256State(rec.hash_state), bytes));
  const now = await withDb(config, (db) =>
    commitChunk(db, rec.recording_id, rec.kind, { chunk: { idx, size: bytes.byteLength, sha256: digest, etag, part_etag: partEtag }, stateBefore: rec.hash_state, stateAfter, uploadId: upload.uploadId }, { first, last }),
  );
  const partClosed = now.part.some((ch) => ch.idx === last && ch.part_etag !== null);
  if (!now.moved) {
    // Another request took this chunk first (a retry of this one), or the recording stopped taking chunks.
    if (created) await upload.abort();
    const same = now.pending && now.part.find((ch) => ch.idx === idx)?.sha256 === digest;
    // An object stored under this chunk's key holds the winner's bytes when `same`; otherwise, or once its part is uploaded, nothing needs it.
    if (!closes && (!same || partClosed)) await store.delete(chunkKey(rec.storage_key, idx));
    if (!now.pending) throw new HttpError('conflict', STOPPED);
    if (!same) throw new HttpError('conflict', `chunk ${idx} was taken meanwhile with other bytes`);
    if (partBytes && !created) {
      // This request's upload of the part may have replaced the winner's (the same bytes under another etag), and the
      // winner's is done (it committed): uploading once more, after it, makes this etag the part's, and it is recorded.
      const again = await upload.uploadPart(part + 1, partBytes);
      await withDb(config, (db) => setPartEtag(db, rec.recording_id, idx, again.etag));
    }
  }
  if (closes && idx > first) await deleteChunkObjects(store, rec.storage_key, first, idx - 1);
  return { index: idx, received_bytes: now.uploadedBytes };
}

/**
 * A chunk already taken, sent again (its answer was lost): accepted while the
 * recording is pending and the bytes are the same. Once its part is uploaded,
 * the part's waiting objects are deleted again, in case the request that
 * closed the part failed after recording it.
 */
async function repeatedChunk(config: EdgeConfig, store: ObjectStore, rec: RecordingRow, idx: number, digest: string, first: number, last: number): Promise<ChunkReceipt> {
  const now: ChunkStanding = await withDb(config, (db) => chunkStanding(db, rec.recording_id, rec.kind, first, last));
  if (!now.pending) throw new HttpError('conflict', STOPPED);
  const held = now.part.find((ch) => ch.idx === idx);
  if (held?.sha256 !== digest) throw new HttpError('conflict', `chunk ${idx} was taken already with other bytes; the file's SHA-256 runs over it, so it cannot be replaced`);
  if (last > first && now.part.some((ch) => ch.idx === last && ch.part_etag !== null)) await deleteChunkObjects(store, rec.storage_key, first, last - 1);
  return { index: idx, received_bytes: now.uploadedBytes };
}
