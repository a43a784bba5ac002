// Mergeable per-window quantile sketches (PROTOCOL.md §2 v3 `sketches`): HdrHistogram counts of a window's samples
// in integer microseconds, 2 significant digits, serialised as HdrHistogram's V2 compressed encoding in base64 —
// byte for byte what hdr-histogram-js 3's encodeIntoCompressedBase64 writes and decodeFromCompressedBase64 reads.
// The library's own codec module probes for Node's zlib with eval() at load, which the page's CSP (no
// 'unsafe-eval') reports as a violation, and brings pako (46 kB in the page); so the envelope is written here with
// fflate's zlib (a quarter of that). The bucket geometry (value ↔ counts index) and the varint coding are the library's.
import * as hdr from 'hdr-histogram-js/dist/Int32Histogram.js';
import * as zz from 'hdr-histogram-js/dist/ZigZagEncoding.js';
import * as bb from 'hdr-histogram-js/dist/ByteBuffer.js';
import { unzlibSync, zlibSync } from 'fflate';
import type { Quad } from './percentiles.js';

/** What `sketch_format` says: hdr-histogram-js 3, V2 compressed encoding, base64; values in integer µs. */
export const SKETCH_FORMAT = 'hdr-histogram-js-3-b64';
/** Longest encoded sketch a window may carry: three of them keep a probe_stats message well inside the 4 KiB control limit. */
export const MAX_SKETCH_CHARS = 1_024;
/** Highest value tracked, µs (60 s); larger samples count as 60 s. */
export const SKETCH_HIGHEST_US = 60_000_000;
const SIGNIFICANT_DIGITS = 2;

/** The three sketches of one window (PROTOCOL.md §2): delay deviation (below the baseline counted as 0), |IPDV| (jitter) and RTT. */
export interface WindowSketches {
  delay: string;
  ipdv: string;
  rtt: string;
}

/** A decoded sketch: sparse counts by HdrHistogram counts-array index, ascending. */
export interface Sketch {
  index: number[];
  count: number[];
  total: number;
}

/** CommonJS default exports arrive wrapped under Node's ESM interop and bare under some bundlers: take either. */
function cjsDefault<T>(m: { default: T }): T {
  const d = m.default as T & { default?: T };
  return d.default ?? d;
}

const Int32Histogram = cjsDefault(hdr);
const ZigZag = cjsDefault(zz);
const ByteBuffer = cjsDefault(bb);
/** The bucket geometry every sketch shares (lowest 1 µs, 2 digits): only its index maths is used. */
const geometry = new Int32Histogram(1, SKETCH_HIGHEST_US, SIGNIFICANT_DIGITS);

const V2_COOKIE = 0x1c849303 | 0x10;
const V2_COMPRESSED_COOKIE = 0x1c849304 | 0x10;
const HEADER_BYTES = 40;
/** A small deflate state: sketches are a few hundred bytes. */
const DEFLATE_OPTIONS = { level: 6, mem: 1 } as const;

function toMicros(ms: number): number {
  if (!Number.isFinite(ms) || ms <= 0) return 0;
  return Math.min(SKETCH_HIGHEST_US, Math.round(ms * 1000));
}

/** The sketch of `samplesMs` each less `minusMs` (ms; negatives and non-finite count as 0, beyond 60 s as 60 s). */
export function sketchOf(samplesMs: readonly number[], minusMs = 0): Sketch {
  const byIndex = new Map<number, number>();
  for (const v of samplesMs) {
    const i = geometry.countsArrayIndex(toMicros(v - minusMs));
    byIndex.set(i, (byIndex.get(i) ?? 0) + 1);
  }
  return fromMap(byIndex);
}

function fromMap(byIndex: Map<number, number>): Sketch {
  const index = [...byIndex.keys()].sort((a, b) => a - b);
  const count = index.map((i) => byIndex.get(i)!);
  return { index, count, total: count.reduce((n, c) => n + c, 0) };
}

/** Merges sketches by adding their counts: the sketch of all their samples together. */
export function mergeSketches(list: readonly Sketch[]): Sketch {
  const byIndex = new Map<number, number>();
  for (const s of list) for (let k = 0; k < s.index.length; k++) byIndex.set(s.index[k]!, (byIndex.get(s.index[k]!) ?? 0) + s.count[k]!);
  return fromMap(byIndex);
}

/** Each bucket's value in ms (its midpoint, as sketchPercentile reads it), ascending, beside `s.count`. */
export function sketchValuesMs(s: Sketch): number[] {
  return s.index.map((i) => geometry.medianEquivalentValue(geometry.valueFromIndex(i)) / 1000);
}

/** The nearest-rank p-th percentile in ms (PROTOCOL.md's definition), within the sketch's ≤ 1 % relative error; 0 when empty. */
export function sketchPercentile(s: Sketch, p: number): number {
  if (s.total === 0) return 0;
  const rank = Math.max(1, Math.ceil((p / 100) * s.total));
  let seen = 0;
  for (let k = 0; k < s.index.length; k++) {
    seen += s.count[k]!;
    if (seen >= rank) return geometry.medianEquivalentValue(geometry.valueFromIndex(s.index[k]!)) / 1000;
  }
  return geometry.medianEquivalentValue(geometry.valueFromIndex(s.index.at(-1)!)) / 1000;
}

/** Encodes a sketch as HdrHistogram's V2 compressed base64 (counts up to the highest non-empty bucket, runs of zeros folded). */
export function encodeSketch(s: Sketch): string {
  const body = ByteBuffer.allocate(HEADER_BYTES + 3 * s.index.length + 16);
  body.putInt32(V2_COOKIE);
  body.putInt32(0); // payload length, filled in below
  body.putInt32(1); // normalizing index offset, as the library writes it
  body.putInt32(SIGNIFICANT_DIGITS);
  body.putInt64(1);
  body.putInt64(SKETCH_HIGHEST_US);
  body.putInt64(1); // integer-to-double conversion ratio
  let next = 0;
  for (let k = 0; k < s.index.length; k++) {
    const zeros = s.index[k]! - next;
    if (zeros === 1) ZigZag.encode(body, 0);
    else if (zeros > 1) ZigZag.encode(body, -zeros);
    ZigZag.encode(body, s.count[k]!);
    next = s.index[k]! + 1;
  }
  if (s.index.length === 0) ZigZag.encode(body, 0);
  const end = body.position;
  body.position = 4;
  body.putInt32(end - HEADER_BYTES);
  const deflated = zlibSync(body.data.subarray(0, end), DEFLATE_OPTIONS);
  const out = ByteBuffer.allocate(8 + deflated.length);
  out.putInt32(V2_COMPRESSED_COOKIE);
  out.putInt32(deflated.length);
  out.putArray(deflated);
  return toBase64(out.data.subarray(0, out.position));
}

/** Decodes an encoded sketch; null for anything that is not a V2 HdrHistogram of this geometry (unknown input never throws). */
export function decodeSketch(b64: string): Sketch | null {
  try {
    const outer = new ByteBuffer(fromBase64(b64));
    if (outer.getInt32() !== V2_COMPRESSED_COOKIE) return null;
    const len = outer.getInt32();
    const body = new ByteBuffer(unzlibSync(outer.data.subarray(8, 8 + len)));
    if (body.getInt32() !== V2_COOKIE) return null;
    const payload = body.getInt32();
    body.getInt32();
    if (body.getInt32() !== SIGNIFICANT_DIGITS || body.getInt64() !== 1) return null;
    body.getInt64();
    body.getInt64();
    const end = HEADER_BYTES + payload;
    if (end > body.data.length) return null;
    const limit = geometry.countsArrayIndex(SKETCH_HIGHEST_US);
    const byIndex = new Map<number, number>();
    let i = 0;
    while (body.position < end) {
      const c = ZigZag.decode(body);
      if (c < 0) i += -c;
      else {
        if (c > 0) {
          if (i > limit) return null;
          byIndex.set(i, c);
        }
        i++;
      }
    }
    return fromMap(byIndex);
  } catch {
    return null;
  }
}

/** One window's three sketches decoded. */
export type DecodedSketches = Record<keyof WindowSketches, Sketch>;
/** By the object that carries them: a 60 s column re-aggregated every second decodes each window once. */
const decodedCache = new WeakMap<WindowSketches, DecodedSketches | null>();

/** Decodes a window's three sketches (cached per object); null when one does not decode. */
export function decodeWindowSketches(w: WindowSketches): DecodedSketches | null {
  let d = decodedCache.get(w);
  if (d === undefined) {
    const [delay, ipdv, rtt] = [decodeSketch(w.delay), decodeSketch(w.ipdv), decodeSketch(w.rtt)];
    d = delay && ipdv && rtt ? { delay, ipdv, rtt } : null;
    decodedCache.set(w, d);
  }
  return d;
}

/** Records `d` as what `w` decodes to (w was just encoded from it): an aggregate aggregated again is not inflated back. */
export function rememberDecoded(w: WindowSketches, d: DecodedSketches): void {
  decodedCache.set(w, d);
}

/** `q` with p50/p99 taken from the sketch, held within q's true min and max (a bucket's midpoint may lie beyond them); q itself when the sketch is empty. */
export function sketchQuad(q: Quad, s: Sketch): Quad {
  if (s.total === 0) return q;
  const clamp = (v: number) => Math.min(q[3], Math.max(q[2], v));
  return [clamp(sketchPercentile(s, 50)), clamp(sketchPercentile(s, 99)), q[2], q[3]];
}

/**
 * The three sketches of one window's samples (ms), or undefined when one would not fit MAX_SKETCH_CHARS. The
 * deviations are `deviationsMs` less `deviationMinusMs` (a window's delays less its baseline, without an array of them).
 */
export function windowSketches(deviationsMs: readonly number[], jittersMs: readonly number[], rttsMs: readonly number[], deviationMinusMs = 0): WindowSketches | undefined {
  const decoded = { delay: sketchOf(deviationsMs, deviationMinusMs), ipdv: sketchOf(jittersMs), rtt: sketchOf(rttsMs) };
  const out = { delay: encodeSketch(decoded.delay), ipdv: encodeSketch(decoded.ipdv), rtt: encodeSketch(decoded.rtt) };
  if (!Object.values(out).every((v) => v.length <= MAX_SKETCH_CHARS)) return undefined;
  // The side that built a window (the page, showing its own seconds) merges it without inflating its text back.
  rememberDecoded(out, decoded);
  return out;
}

function toBase64(bytes: Uint8Array): string {
  let s = '';
  for (let k = 0; k < bytes.length; k++) s += String.fromCharCode(bytes[k]!);
  return btoa(s);
}

function fromBase64(b64: string): Uint8Array {
  const s = atob(b64);
  const out = new Uint8Array(s.length);
  for (let k = 0; k < s.length; k++) out[k] = s.charCodeAt(k);
  return out;
}
