// Removes what an unfinished recording upload holds in the object store: its multipart upload (aborted) and
// the chunk objects waiting for their part. Used by the purge and by the sweep of abandoned uploads.
import { chunkPrefix } from './assemble.js';
import { deletePrefix, type ObjectStore } from './object-store.js';

/** Aborts each upload's multipart upload (when it has one) and deletes its chunk objects; answers how many of those there were. */
export async function removeRecordingUploads(store: ObjectStore, uploads: readonly { storageKey: string; uploadId: string | null }[]): Promise<number> {
  let chunkObjects = 0;
  for (const u of uploads) {
    if (u.uploadId) await store.resumeMultipartUpload(u.storageKey, u.uploadId).abort();
    // Listed, not named from rows: chunks of a request that failed half-way are found too.
    chunkObjects += await deletePrefix(store, chunkPrefix(u.storageKey));
  }
  return chunkObjects;
}
