// Turns a recording's uploaded chunks (one object each) into the one stored file: R2 multipart parts of
// PART_BYTES, hashed in the same pass, so the whole-file SHA-256 is checked without reading the file twice.
import { sha256Sink } from './file-digest.js';
import { deleteObjects, type ObjectStore, type UploadedPart } from './object-store.js';

/** R2 wants every part but the last to be at least 5 MiB and all of one size. */
export const PART_BYTES = 5 * 1024 * 1024;

/** Where chunk `idx` of the file at `storageKey` waits until the file is assembled. */
export const chunkKey = (storageKey: string, idx: number) => `${storageKey}.chunks/${String(idx).padStart(6, '0')}`;

/** Where chunks 0…count-1 of the file at `storageKey` wait. */
export const chunkKeys = (storageKey: string, count: number) => Array.from({ length: count }, (_, i) => chunkKey(storageKey, i));

/**
 * Assembles chunks 0…count-1 into `storageKey` and returns the file's hex
 * SHA-256 and size. The chunk objects are removed afterwards whatever the
 * outcome; on a failure the partial upload is aborted.
 */
export async function assembleChunks(store: ObjectStore, storageKey: string, count: number, contentType: string): Promise<{ sha256: string; size: number }> {
  const digest = sha256Sink();
  const hashing = digest.stream.getWriter();
  const upload = await store.createMultipartUpload(storageKey, { httpMetadata: { contentType } });
  const parts: UploadedPart[] = [];
  let pending: Uint8Array[] = [];
  let pendingBytes = 0;
  let size = 0;
  const flush = async () => {
    const part = new Uint8Array(pendingBytes);
    let at = 0;
    for (const b of pending) part.set(b, (at += b.byteLength) - b.byteLength);
    parts.push(await upload.uploadPart(parts.length + 1, part));
    pending = [];
    pendingBytes = 0;
  };
  try {
    for (let i = 0; i < count; i++) {
      const obj = await store.get(chunkKey(storageKey, i));
      if (!obj) throw new Error(`chunk ${i} is missing from storage`);
      const bytes = new Uint8Array(await new Response(obj.body).arrayBuffer());
      await hashing.write(bytes);
      size += bytes.byteLength;
      pending.push(bytes);
      pendingBytes += bytes.byteLength;
      if (pendingBytes >= PART_BYTES) await flush();
    }
    if (pendingBytes > 0 || parts.length === 0) await flush();
    await upload.complete(parts);
    await hashing.close();
    return { sha256: await digest.hex(), size };
  } catch (e) {
    await upload.abort().catch(() => undefined);
    throw e;
  } finally {
    await deleteObjects(store, chunkKeys(storageKey, count)).catch(() => undefined);
  }
}
