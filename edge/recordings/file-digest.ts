// SHA-256 of bytes that pass by, without holding them: workerd's DigestStream.

interface DigestStreamLike extends WritableStream<Uint8Array> {
  readonly digest: Promise<ArrayBuffer>;
}
type DigestStreamCtor = new (algorithm: string) => DigestStreamLike;

const toHex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');

/** A sink to write bytes into, and the hex SHA-256 of all of them once closed. */
export function sha256Sink(): { stream: WritableStream<Uint8Array>; hex(): Promise<string> } {
  const Ctor = (crypto as unknown as { DigestStream?: DigestStreamCtor }).DigestStream;
  if (!Ctor) throw new Error('crypto.DigestStream is not available (the edge runs in workerd)');
  const sink = new Ctor('SHA-256');
  return { stream: sink, hex: async () => toHex(new Uint8Array(await sink.digest)) };
}

/** Hex SHA-256 of everything `body` yields. */
export async function sha256OfStream(body: ReadableStream<Uint8Array>): Promise<string> {
  const sink = sha256Sink();
  await body.pipeTo(sink.stream);
  return sink.hex();
}

/** Hex SHA-256 of bytes in memory (one chunk). */
export async function sha256OfBytes(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  return toHex(new Uint8Array(await crypto.subtle.digest('SHA-256', bytes)));
}
