// SHA-256 (FIPS 180-4) whose running state can be saved between requests: WebCrypto and DigestStream hash a
// message within one request only, while a recording's chunks arrive over many, and the whole file is never
// held or read back in one place.
import { toHex } from '../../shared/bytes.js';

const K = new Uint32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
  0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
  0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
  0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);
const H0 = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];

/** The hash of a message's first `length` bytes, before padding: 8 words, the bytes of an unfinished 64-byte block, the length. */
export interface Sha256State {
  h: Uint32Array;
  /** Bytes past the last whole block (fewer than 64). */
  tail: Uint8Array;
  length: number;
}

/** The state of an empty message. */
export function sha256Start(): Sha256State {
  return { h: Uint32Array.from(H0), tail: new Uint8Array(0), length: 0 };
}

const w = new Uint32Array(64);

/** Runs the compression function over the 64-byte block of `bytes` at `at`, into `h`. */
function compress(h: Uint32Array, bytes: Uint8Array, at: number): void {
  for (let i = 0; i < 16; i++, at += 4) w[i] = (bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!;
  for (let i = 16; i < 64; i++) {
    const a = w[i - 15]!;
    const b = w[i - 2]!;
    const s0 = ((a >>> 7) | (a << 25)) ^ ((a >>> 18) | (a << 14)) ^ (a >>> 3);
    const s1 = ((b >>> 17) | (b << 15)) ^ ((b >>> 19) | (b << 13)) ^ (b >>> 10);
    w[i] = (w[i - 16]! + s0 + w[i - 7]! + s1) | 0;
  }
  let a = h[0]!, b = h[1]!, c = h[2]!, d = h[3]!, e = h[4]!, f = h[5]!, g = h[6]!, k = h[7]!;
  for (let i = 0; i < 64; i++) {
    const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const t1 = (k + S1 + ((e & f) ^ (~e & g)) + K[i]! + w[i]!) | 0;
    const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const t2 = (S0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
    k = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = b;
    b = a;
    a = (t1 + t2) | 0;
  }
  h[0] = h[0]! + a; h[1] = h[1]! + b; h[2] = h[2]! + c; h[3] = h[3]! + d;
  h[4] = h[4]! + e; h[5] = h[5]! + f; h[6] = h[6]! + g; h[7] = h[7]! + k;
}

/** The state after `bytes` more of the message (the given state is left as it was). */
export function sha256Update(state: Sha256State, bytes: Uint8Array): Sha256State {
  const h = Uint32Array.from(state.h);
  let at = 0;
  let tail = state.tail;
  if (tail.length > 0) {
    const take = Math.min(64 - tail.length, bytes.length);
    const block = new Uint8Array(tail.length + take);
    block.set(tail);
    block.set(bytes.subarray(0, take), tail.length);
    at = take;
    if (block.length < 64) return { h, tail: block, length: state.length + bytes.length };
    compress(h, block, 0);
  }
  for (; at + 64 <= bytes.length; at += 64) compress(h, bytes, at);
  tail = bytes.slice(at);
  return { h, tail, length: state.length + bytes.length };
}

/** The hex digest of the message the state has seen. */
export function sha256Finish(state: Sha256State): string {
  const h = Uint32Array.from(state.h);
  const padded = new Uint8Array(state.tail.length + 9 <= 64 ? 64 : 128);
  padded.set(state.tail);
  padded[state.tail.length] = 0x80;
  const bits = state.length * 8;
  const view = new DataView(padded.buffer);
  view.setUint32(padded.length - 8, Math.floor(bits / 2 ** 32));
  view.setUint32(padded.length - 4, bits >>> 0);
  for (let at = 0; at < padded.length; at += 64) compress(h, padded, at);
  const out = new Uint8Array(32);
  const outView = new DataView(out.buffer);
  h.forEach((word, i) => outView.setUint32(i * 4, word));
  return toHex(out);
}

const STATE_TEXT = /^([0-9a-f]{64})\.(\d{1,16})\.([0-9a-f]{0,126})$/;

/** The state as text for a database column: `<8 words hex>.<length>.<tail hex>`. */
export function encodeSha256State(s: Sha256State): string {
  const words = Array.from(s.h, (x) => x.toString(16).padStart(8, '0')).join('');
  return `${words}.${s.length}.${toHex(s.tail)}`;
}

/** Reads encodeSha256State's text back; null (no state yet) is an empty message; anything malformed throws. */
export function decodeSha256State(text: string | null): Sha256State {
  if (text === null) return sha256Start();
  const m = STATE_TEXT.exec(text);
  const length = m ? Number(m[2]) : NaN;
  if (!m || m[3]!.length % 2 !== 0 || m[3]!.length / 2 !== length % 64) throw new Error('a recording\'s stored hash state is malformed');
  const h = new Uint32Array(8);
  for (let i = 0; i < 8; i++) h[i] = parseInt(m[1]!.slice(i * 8, i * 8 + 8), 16);
  const tail = new Uint8Array(m[3]!.length / 2);
  for (let i = 0; i < tail.length; i++) tail[i] = parseInt(m[3]!.slice(i * 2, i * 2 + 2), 16);
  return { h, tail, length };
}
