/**
 * The binary form of one captured data-channel message, shared by the relay
 * (which appends records to byte chunks) and the pcapng worker (which reads
 * them). Little-endian:
 *   0  f64  at_ms (epoch ms, sub-millisecond)
 *   8  u8   bit 0: direction (0 c2r, 1 r2c); bits 1-2: channel (0 probe, 1 bulk, 2 control)
 *   9  u32  the message's original length in bytes
 *  13  u16  bytes stored (a prefix when shorter than the original)
 *  15  ...  the stored bytes
 */
export const RECORD_HEADER_BYTES = 15;

export type CaptureDir = 'c2r' | 'r2c';
export type CaptureChannel = 'probe' | 'bulk' | 'control';

export const CHANNEL_CODES: Record<CaptureChannel, number> = { probe: 0, bulk: 1, control: 2 };
export const CHANNELS: readonly CaptureChannel[] = ['probe', 'bulk', 'control'];

/** Bulk payloads keep this many bytes: enough to see them, not enough to fill the capture. */
export const BULK_PREFIX_BYTES = 64;
/** Other messages keep at most this many (the probe and control channels' limit). */
export const MAX_STORED_BYTES = 4 * 1024;

/** The most bytes one record can take. */
export const MAX_RECORD_BYTES = RECORD_HEADER_BYTES + MAX_STORED_BYTES;

/** One record as the reader sees it: `data` is a view into the chunk, valid while the chunk is. */
export interface CaptureRecordView {
  atMs: number;
  dir: CaptureDir;
  channel: CaptureChannel;
  origLen: number;
  data: Uint8Array;
}

/** Calls `fn` for each record in `bytes[0..used)`, in order. */
export function forEachRecord(bytes: Uint8Array, used: number, fn: (r: CaptureRecordView) => void): void {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  while (at + RECORD_HEADER_BYTES <= used) {
    const flags = v.getUint8(at + 8);
    const stored = v.getUint16(at + 13, true);
    fn({
      atMs: v.getFloat64(at, true),
      dir: flags & 1 ? 'r2c' : 'c2r',
      channel: CHANNELS[(flags >> 1) & 3] ?? 'probe',
      origLen: v.getUint32(at + 9, true),
      data: bytes.subarray(at + RECORD_HEADER_BYTES, at + RECORD_HEADER_BYTES + stored),
    });
    at += RECORD_HEADER_BYTES + stored;
  }
}

const encoder = new TextEncoder();

/** The most bytes `data` can take stored on `channel`: what `writeRecord` needs free after the header. */
export function storedBound(channel: CaptureChannel, data: string | Uint8Array): number {
  const cap = channel === 'bulk' ? BULK_PREFIX_BYTES : MAX_STORED_BYTES;
  // A UTF-16 unit is at most 3 UTF-8 bytes.
  return Math.min(cap, typeof data === 'string' ? data.length * 3 : data.byteLength);
}

/**
 * Appends one record at `offset` of `bytes` (`view` spans the same bytes; there is room for the header
 * plus `storedBound`) and returns its size; text is encoded straight into the chunk, bytes are copied.
 */
export function writeRecord(bytes: Uint8Array, view: DataView, offset: number, atMs: number, dir: CaptureDir, channel: CaptureChannel, data: string | Uint8Array): number {
  const room = storedBound(channel, data);
  const body = offset + RECORD_HEADER_BYTES;
  let stored: number;
  let orig: number;
  if (typeof data === 'string') {
    const { read, written } = encoder.encodeInto(data, bytes.subarray(body, body + room));
    stored = written;
    orig = read === data.length ? written : Buffer.byteLength(data);
  } else {
    stored = room;
    orig = data.byteLength;
    bytes.set(data.subarray(0, room), body);
  }
  view.setFloat64(offset, atMs, true);
  view.setUint8(offset + 8, (dir === 'r2c' ? 1 : 0) | (CHANNEL_CODES[channel] << 1));
  view.setUint32(offset + 9, orig, true);
  view.setUint16(offset + 13, stored, true);
  return RECORD_HEADER_BYTES + stored;
}
