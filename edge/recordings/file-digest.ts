// SHA-256 of bytes that pass by, without holding them: workerd's DigestStream.
import { toHex } from '../../shared/bytes.js';

interface DigestStreamLike extends WritableStream<Uint8Array> {
  readonly digest: Promise<ArrayBuffer>;
}
type DigestStreamCtor = new (algorithm: string) => DigestStreamLike;


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
