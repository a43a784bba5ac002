// How a recording's chunks become the stored file as they arrive: chunks are grouped into R2 multipart parts;
// a chunk waits as an object of its own until the chunk that closes its part arrives, and that request reads
// the part's earlier chunks back (checked against the digests they were hashed with), uploads the part, and
// deletes them. No request moves more than one part.
import { sha256HexOfBytes } from '../../shared/signing.js';
import type { ChunkRow } from '../../shared/db/recordings.js';
import { deleteObjects, type ObjectStore } from './object-store.js';

/** R2 wants every part but the last to be at least 5 MiB and all of one size. */
export const MIN_PART_BYTES = 5 * 1024 * 1024;

/** Where chunk `idx` of the file at `storageKey` waits until its part is uploaded. */
export const chunkKey = (storageKey: string, idx: number) => `${storageKey}.chunks/${String(idx).padStart(6, '0')}`;

/** The prefix of every chunk object of the file at `storageKey` (the sweep and the purge list it). */
export const chunkPrefix = (storageKey: string) => `${storageKey}.chunks/`;

/** How a file of `size_bytes` in chunks of `chunk_bytes` falls into chunks and parts. */
export interface PartLayout {
  chunks: number;
  /** Chunks per part: the fewest whole chunks that reach R2's minimum part size. */
  perPart: number;
  /** Size of chunk `idx` (the last: the rest). */
  chunkSize(idx: number): number;
  /** The part (0-based) chunk `idx` belongs to, and that part's first and last chunk. */
  partOf(idx: number): { part: number; first: number; last: number };
}

/** The layout of a recording. */
export function partLayout(r: { size_bytes: number; chunk_bytes: number }): PartLayout {
  const chunks = Math.ceil(r.size_bytes / r.chunk_bytes);
  const perPart = Math.ceil(MIN_PART_BYTES / r.chunk_bytes);
  return {
    chunks,
    perPart,
    chunkSize: (idx) => Math.min(r.chunk_bytes, r.size_bytes - idx * r.chunk_bytes),
    partOf: (idx) => {
      const part = Math.floor(idx / perPart);
      return { part, first: part * perPart, last: Math.min(chunks, (part + 1) * perPart) - 1 };
    },
  };
}

/** Thrown when a waiting chunk object is missing or not the bytes that were hashed: the part cannot be built from it. */
export class PartSourceError extends Error {}

/**
 * The bytes of a part: the earlier chunks in `held` (read back from their
 * objects, each checked against its recorded SHA-256) and `last`, the
 * closing chunk's bytes in hand.
 */
export async function buildPart(store: ObjectStore, storageKey: string, held: ChunkRow[], last: Uint8Array): Promise<Uint8Array> {
  const pieces: Uint8Array[] = [];
  for (const ch of held) {
    const obj = await store.get(chunkKey(storageKey, ch.idx));
    if (!obj) throw new PartSourceError(`chunk ${ch.idx} is missing from storage`);
    const bytes = new Uint8Array(await new Response(obj.body).arrayBuffer());
    if (bytes.byteLength !== ch.size || (await sha256HexOfBytes(bytes)) !== ch.sha256) throw new PartSourceError(`chunk ${ch.idx} in storage is not the chunk that was taken`);
    pieces.push(bytes);
  }
  pieces.push(last);
  const body = new Uint8Array(pieces.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of pieces) {
    body.set(p, at);
    at += p.byteLength;
  }
  return body;
}

/** Deletes the waiting objects of chunks `first`…`last` (one call: a part has far fewer than 1,000 chunks). */
export function deleteChunkObjects(store: ObjectStore, storageKey: string, first: number, last: number): Promise<void> {
  return deleteObjects(store, Array.from({ length: last - first + 1 }, (_, i) => chunkKey(storageKey, first + i)));
}
