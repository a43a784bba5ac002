// The object store (R2) as the edge uses it: a narrow interface over the RECORDINGS binding, so the edge needs no workers-types.
import type { Context } from 'hono';
import type { EdgeBindings, EdgeEnv } from '../env.js';
import { HttpError } from '../errors.js';

export interface StoredObject {
  key: string;
  size: number;
  etag: string;
  httpEtag: string;
}

export interface StoredObjectBody extends StoredObject {
  body: ReadableStream<Uint8Array>;
  range?: { offset: number; length: number };
}

export interface UploadedPart {
  partNumber: number;
  etag: string;
}

export interface MultipartUpload {
  readonly key: string;
  readonly uploadId: string;
  uploadPart(partNumber: number, value: ArrayBuffer | Uint8Array | ReadableStream): Promise<UploadedPart>;
  complete(parts: UploadedPart[]): Promise<StoredObject>;
  abort(): Promise<void>;
}

/** What the edge calls on an R2 bucket binding. */
export interface ObjectStore {
  head(key: string): Promise<StoredObject | null>;
  get(key: string, options?: { range?: { offset: number; length?: number } }): Promise<StoredObjectBody | null>;
  put(key: string, value: ArrayBuffer | Uint8Array | ReadableStream, options?: { httpMetadata?: { contentType?: string }; sha256?: string }): Promise<StoredObject | null>;
  delete(keys: string | string[]): Promise<void>;
  list(options: { prefix: string; cursor?: string; limit?: number }): Promise<{ objects: StoredObject[]; truncated: boolean; cursor?: string }>;
  createMultipartUpload(key: string, options?: { httpMetadata?: { contentType?: string } }): Promise<MultipartUpload>;
  resumeMultipartUpload(key: string, uploadId: string): MultipartUpload;
}

/** The RECORDINGS bucket of a worker's env, or null when none is bound. */
export function bucketOf(env: Record<string, unknown> | undefined): ObjectStore | null {
  const bucket = env?.RECORDINGS as ObjectStore | undefined;
  return bucket && typeof bucket.createMultipartUpload === 'function' ? bucket : null;
}

/** The RECORDINGS bucket (wrangler.toml `[[r2_buckets]]`), or 503 saying how to configure it. */
export const objectStore = (c: Context<EdgeEnv>): ObjectStore => objectStoreOf(c.env);

/** The RECORDINGS bucket among a worker's bindings (a request's, or a queue consumer's), or 503 saying how to configure it. */
export function objectStoreOf(env: EdgeBindings | undefined): ObjectStore {
  const bucket = bucketOf(env);
  if (!bucket) throw new HttpError('storage_unavailable', 'object storage is not configured: bind an R2 bucket as RECORDINGS in wrangler.toml');
  return bucket;
}

/** Most keys one object-store delete call takes (R2's limit). */
const DELETE_BATCH = 1000;

/** Deletes `keys` (any number; missing ones are no error), in calls of at most R2's 1000 keys. */
export async function deleteObjects(store: ObjectStore, keys: readonly string[]): Promise<void> {
  for (let i = 0; i < keys.length; i += DELETE_BATCH) await store.delete(keys.slice(i, i + DELETE_BATCH));
}

/** Deletes every object under `prefix`, a listed page (≤ 1000 keys) at a time; answers how many there were. */
export async function deletePrefix(store: ObjectStore, prefix: string): Promise<number> {
  let deleted = 0;
  let cursor: string | undefined;
  do {
    const page = await store.list({ prefix, limit: DELETE_BATCH, ...(cursor ? { cursor } : {}) });
    if (page.objects.length > 0) await deleteObjects(store, page.objects.map((o) => o.key));
    deleted += page.objects.length;
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  return deleted;
}
