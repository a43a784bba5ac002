import { MAX_RECORD_BYTES, RECORD_HEADER_BYTES, storedBound, writeRecord, type CaptureChannel, type CaptureDir } from './record-format.js';

/**
 * A connection's capture is a list of byte chunks holding binary records
 * (record-format.ts), never JS objects per message. Memory is bounded twice:
 * per connection (its oldest chunk goes when it would pass its cap) and per
 * relay (the connection holding the most loses its oldest chunk). Every record
 * dropped is counted.
 */
export interface CaptureBudget {
  readonly maxBytes: number;
  readonly perConnMaxBytes: number;
  /** Bytes of chunks held: live captures plus sealed ones still being written. */
  held: number;
  readonly live: Set<ConnCapture>;
  recordsCaptured: number;
  dropped: { connCap: number; relayCap: number };
}

/** One byte chunk: records fill it from the start; never split across chunks. */
export interface CaptureChunk {
  bytes: Uint8Array<ArrayBuffer>;
  view: DataView;
  used: number;
  records: number;
}

export interface ConnCapture {
  readonly budget: CaptureBudget;
  chunks: CaptureChunk[];
  /** Bytes of this capture's chunks (allocated, not just used). */
  held: number;
  /** Records held now, and records of this capture dropped for room. */
  records: number;
  dropped: number;
  sealed: boolean;
}

/** What a sealed capture hands to the writer; its bytes stay counted in the budget until `releaseSealed`. */
export interface SealedCapture {
  chunks: { bytes: Uint8Array<ArrayBuffer>; used: number }[];
  held: number;
  records: number;
  dropped: number;
}

/** Plain counters for a metrics endpoint. */
export interface CaptureCounters {
  bytes_held: number;
  live_captures: number;
  records_captured: number;
  /** Dropped because a connection reached its own cap, and because the relay reached its total. */
  records_dropped_conn_cap: number;
  records_dropped_relay_cap: number;
}

export const DEFAULT_CAPTURE_MAX_BYTES = 1024 * 1024 * 1024;
export const DEFAULT_CAPTURE_MAX_BYTES_PER_CONN = 16 * 1024 * 1024;
/** Chunks start small (most connections capture little) and double up to this, so dropping one frees a small share of a cap. */
const MAX_CHUNK_BYTES = 256 * 1024;
const MIN_CHUNK_BYTES = 16 * 1024;
// A record never spans chunks, so the smallest chunk must hold the largest record.
if (MIN_CHUNK_BYTES < MAX_RECORD_BYTES) throw new Error('capture chunks smaller than a record');
/** The smallest per-connection cap that holds a few chunks. */
export const MIN_CAPTURE_BYTES_PER_CONN = 4 * MIN_CHUNK_BYTES;

/** The relay's capture budget. */
export function createCaptureBudget(opts: { maxBytes?: number; perConnMaxBytes?: number } = {}): CaptureBudget {
  const perConnMaxBytes = Math.max(MIN_CAPTURE_BYTES_PER_CONN, opts.perConnMaxBytes ?? DEFAULT_CAPTURE_MAX_BYTES_PER_CONN);
  const maxBytes = Math.max(perConnMaxBytes, opts.maxBytes ?? DEFAULT_CAPTURE_MAX_BYTES);
  return { maxBytes, perConnMaxBytes, held: 0, live: new Set(), recordsCaptured: 0, dropped: { connCap: 0, relayCap: 0 } };
}

/** Starts capturing a connection (its survey began). */
export function startCapture(budget: CaptureBudget): ConnCapture {
  const cap: ConnCapture = { budget, chunks: [], held: 0, records: 0, dropped: 0, sealed: false };
  budget.live.add(cap);
  return cap;
}

/** Appends one message; a no-op without a running capture. Bulk payloads keep a 64-byte prefix and their length. */
export function captureMessage(cap: ConnCapture | null, atMs: number, dir: CaptureDir, channel: CaptureChannel, data: string | Uint8Array): void {
  if (!cap || cap.sealed) return;
  const need = RECORD_HEADER_BYTES + storedBound(channel, data);
  let chunk = cap.chunks.at(-1) ?? null;
  if (!chunk || chunk.bytes.length - chunk.used < need) {
    chunk = addChunk(cap);
    if (!chunk) {
      // Everything the relay holds is being written: nothing can make room.
      cap.dropped++;
      cap.budget.dropped.relayCap++;
      return;
    }
  }
  chunk.used += writeRecord(chunk.bytes, chunk.view, chunk.used, atMs, dir, channel, data);
  chunk.records++;
  cap.records++;
  cap.budget.recordsCaptured++;
}

/** Ends recording and hands over the chunks (to be transferred to the writer); a capture is sealed once. */
export function sealCapture(cap: ConnCapture): SealedCapture {
  cap.sealed = true;
  cap.budget.live.delete(cap);
  const out: SealedCapture = { chunks: cap.chunks.map((c) => ({ bytes: c.bytes, used: c.used })), held: cap.held, records: cap.records, dropped: cap.dropped };
  cap.chunks = [];
  cap.held = 0;
  return out;
}

/** Returns a sealed capture's bytes to the budget once it is written (or failed). */
export function releaseSealed(budget: CaptureBudget, sealed: SealedCapture): void {
  budget.held -= sealed.held;
  sealed.held = 0;
}

/** Throws a capture away (its connection closed without a stop): nothing is written. */
export function discardCapture(cap: ConnCapture | null): void {
  if (!cap || cap.sealed) return;
  releaseSealed(cap.budget, sealCapture(cap));
}

/** The relay's capture counters. */
export function captureCounters(budget: CaptureBudget): CaptureCounters {
  return {
    bytes_held: budget.held,
    live_captures: budget.live.size,
    records_captured: budget.recordsCaptured,
    records_dropped_conn_cap: budget.dropped.connCap,
    records_dropped_relay_cap: budget.dropped.relayCap,
  };
}

/** A new last chunk, making room under both caps first; null when the relay's total is all in writes. */
function addChunk(cap: ConnCapture): CaptureChunk | null {
  const b = cap.budget;
  const last = cap.chunks.at(-1);
  const size = Math.max(MIN_CHUNK_BYTES, Math.min(MAX_CHUNK_BYTES, b.perConnMaxBytes / 4, last ? last.bytes.length * 2 : 0));
  let reuse: Uint8Array<ArrayBuffer> | null = null;
  const keep = (bytes: Uint8Array<ArrayBuffer>) => {
    if (!reuse && bytes.length === size) reuse = bytes;
  };
  while (cap.held + size > b.perConnMaxBytes && cap.chunks.length > 0) keep(dropOldest(cap, 'connCap'));
  while (b.held + size > b.maxBytes) {
    const victim = largest(b);
    if (!victim) return null;
    keep(dropOldest(victim, 'relayCap'));
  }
  const bytes: Uint8Array<ArrayBuffer> = reuse ?? new Uint8Array(size);
  const chunk: CaptureChunk = { bytes, view: new DataView(bytes.buffer), used: 0, records: 0 };
  cap.chunks.push(chunk);
  cap.held += size;
  b.held += size;
  return chunk;
}

function dropOldest(cap: ConnCapture, why: 'connCap' | 'relayCap'): Uint8Array<ArrayBuffer> {
  const old = cap.chunks.shift()!;
  cap.held -= old.bytes.length;
  cap.budget.held -= old.bytes.length;
  cap.records -= old.records;
  cap.dropped += old.records;
  cap.budget.dropped[why] += old.records;
  return old.bytes;
}

/** The live capture holding the most bytes. */
function largest(b: CaptureBudget): ConnCapture | null {
  let best: ConnCapture | null = null;
  for (const c of b.live) if (c.chunks.length > 0 && (!best || c.held > best.held)) best = c;
  return best;
}
