// A test entry for the edge worker that counts every call it makes on its RECORDINGS bucket and names them,
// with the bytes each moved, in the `x-test-r2-ops` header of the answer: how much object-store work one
// request did. Bundled instead of edge/index.ts by startTestEdge({ countR2: true }).
import worker from '../../edge/index.js';
import type { MultipartUpload, ObjectStore } from '../../edge/recordings/object-store.js';

/** One object-store call: its name and the bytes it carried (body sent, or object read). */
export interface R2Op {
  op: string;
  bytes: number;
}

const sizeOf = (v: unknown) => (v instanceof Uint8Array || v instanceof ArrayBuffer ? v.byteLength : 0);

function countingUpload(u: MultipartUpload, ops: R2Op[]): MultipartUpload {
  return {
    key: u.key,
    uploadId: u.uploadId,
    uploadPart: (n, v) => (ops.push({ op: 'uploadPart', bytes: sizeOf(v) }), u.uploadPart(n, v)),
    complete: (parts) => (ops.push({ op: 'completeMultipartUpload', bytes: 0 }), u.complete(parts)),
    abort: () => (ops.push({ op: 'abortMultipartUpload', bytes: 0 }), u.abort()),
  };
}

function countingStore(s: ObjectStore, ops: R2Op[]): ObjectStore {
  return {
    head: (k) => (ops.push({ op: 'head', bytes: 0 }), s.head(k)),
    get: async (k, o) => {
      const obj = await s.get(k, o);
      ops.push({ op: 'get', bytes: obj ? (obj.range?.length ?? obj.size) : 0 });
      return obj;
    },
    put: (k, v, o) => (ops.push({ op: 'put', bytes: sizeOf(v) }), s.put(k, v, o)),
    delete: (keys) => (ops.push({ op: 'delete', bytes: 0 }), s.delete(keys)),
    list: (o) => (ops.push({ op: 'list', bytes: 0 }), s.list(o)),
    createMultipartUpload: async (k, o) => (ops.push({ op: 'createMultipartUpload', bytes: 0 }), countingUpload(await s.createMultipartUpload(k, o), ops)),
    resumeMultipartUpload: (k, id) => countingUpload(s.resumeMultipartUpload(k, id), ops),
  };
}

export default {
  async fetch(req: Request, env: Record<string, unknown>, ctx: unknown): Promise<Response> {
    const ops: R2Op[] = [];
    const bucket = env.RECORDINGS as ObjectStore | undefined;
    const resp = await worker.fetch(req, bucket ? { ...env, RECORDINGS: countingStore(bucket, ops) } : env, ctx as never);
    const out = new Response(resp.body, resp);
    out.headers.set('x-test-r2-ops', JSON.stringify(ops));
    return out;
  },
  scheduled: worker.scheduled,
};
