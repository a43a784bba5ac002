// SHA-256 of a stored object, streamed: workerd's DigestStream hashes it without holding the file in memory.

interface DigestStreamLike extends WritableStream<Uint8Array> {
  readonly digest: Promise<ArrayBuffer>;
}
type DigestStreamCtor = new (algorithm: string) => DigestStreamLike;

/** Hex SHA-256 of everything `body` yields. */
export async function sha256OfStream(body: ReadableStream<Uint8Array>): Promise<string> {
  const Ctor = (crypto as unknown as { DigestStream?: DigestStreamCtor }).DigestStream;
  if (!Ctor) throw new Error('crypto.DigestStream is not available (the edge runs in workerd)');
  const sink = new Ctor('SHA-256');
  await body.pipeTo(sink);
  return toHex(new Uint8Array(await sink.digest));
}

/** Hex SHA-256 of bytes in memory (one chunk). */
export async function sha256OfBytes(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  return toHex(new Uint8Array(await crypto.subtle.digest('SHA-256', bytes)));
}

const toHex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
