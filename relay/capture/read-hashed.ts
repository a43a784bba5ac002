// A capture file's bytes and SHA-256 without blocking the probe loop: the file is read and hashed one piece at a
// time, each piece in its own event-loop turn, where hashing a whole file at once (16 MiB: tens of ms on a busy
// core) would stall every session's probe timer behind it.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

/** Bytes hashed in one event-loop turn: about 0.1-0.3 ms of SHA-256, the most the hand-off blocks the loop for. */
export const HASH_PIECE_BYTES = 64 * 1024;

/** The file's pieces (for a request body without one big copy), total size and hex SHA-256. */
export async function readHashed(path: string, pieceBytes = HASH_PIECE_BYTES): Promise<{ pieces: Uint8Array<ArrayBuffer>[]; bytes: number; sha256: string }> {
  const hash = createHash('sha256');
  const pieces: Uint8Array<ArrayBuffer>[] = [];
  let bytes = 0;
  for await (const piece of createReadStream(path, { highWaterMark: pieceBytes }) as AsyncIterable<Buffer>) {
    hash.update(piece);
    pieces.push(new Uint8Array(piece.buffer as ArrayBuffer, piece.byteOffset, piece.length));
    bytes += piece.length;
  }
  return { pieces, bytes, sha256: hash.digest('hex') };
}
