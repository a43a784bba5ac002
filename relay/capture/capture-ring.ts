/** One data-channel message as the relay saw it. */
export interface CaptureRecord {
  /** ms since epoch, sub-millisecond. */
  at_ms: number;
  dir: 'c2r' | 'r2c';
  channel: 'probe' | 'bulk' | 'control';
  data: string | Uint8Array;
  /** Length before truncation (bulk payloads keep only a prefix). */
  orig_len?: number;
}

/** A bounded ring of a session's recent messages: the oldest are dropped (and counted) when full. */
export interface CaptureRing {
  maxRecords: number;
  records: CaptureRecord[];
  start: number;
  dropped: number;
}

/** Bulk payloads keep this many bytes: enough to see them, not enough to fill the ring. */
export const BULK_PREFIX_BYTES = 64;

/** A ring of at most `maxRecords` messages (default: 10 minutes of probes both ways plus control). */
export function createCaptureRing(maxRecords = 150_000): CaptureRing {
  return { maxRecords, records: [], start: 0, dropped: 0 };
}

const encoder = new TextEncoder();

/** Adds one message; bulk payloads (text or bytes) keep a copied prefix and their full length. */
export function capture(ring: CaptureRing, rec: CaptureRecord): void {
  if (rec.channel === 'bulk') {
    const bytes = typeof rec.data === 'string' ? encoder.encode(rec.data) : rec.data;
    if (bytes.length > BULK_PREFIX_BYTES) rec = { ...rec, orig_len: bytes.length, data: bytes.slice(0, BULK_PREFIX_BYTES) };
  }
  if (ring.records.length < ring.maxRecords) {
    ring.records.push(rec);
    return;
  }
  ring.records[ring.start] = rec;
  ring.start = (ring.start + 1) % ring.maxRecords;
  ring.dropped++;
}

/** The messages held, oldest first. */
export function snapshot(ring: CaptureRing): CaptureRecord[] {
  return [...ring.records.slice(ring.start), ...ring.records.slice(0, ring.start)];
}
