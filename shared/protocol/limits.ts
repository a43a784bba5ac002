/**
 * Largest message, in bytes, each data channel takes. libdatachannel accepts
 * up to 256 KiB, so the relay checks these before it stores or parses
 * anything; a larger message closes the connection (`too_large`). Probes and
 * control messages are well under 2 KiB; bulk chunks are 16 KiB.
 */
export const MAX_MESSAGE_BYTES = { probe: 4 * 1024, control: 4 * 1024, bulk: 64 * 1024 } as const;

export type DataChannelLabel = keyof typeof MAX_MESSAGE_BYTES;

/** A message's size in bytes as it crossed the channel (UTF-8 for text). */
export function messageBytes(data: string | ArrayBuffer | ArrayBufferView): number {
  if (typeof data !== 'string') return data.byteLength;
  return utf8Length(data);
}

/** Why a message on `label` is too large (the `too_large` error's words), or null when it fits. */
export function oversizeMessage(label: DataChannelLabel, data: string | ArrayBuffer | ArrayBufferView): string | null {
  const limit = MAX_MESSAGE_BYTES[label];
  // Every UTF-16 unit is at least one UTF-8 byte: a long string is refused without being scanned.
  if (typeof data === 'string' && data.length > limit) return tooLarge(label, `more than ${limit}`, limit);
  // And at most three: a string this short fits without a scan (every probe, ~300-1,300 characters, is one).
  if (typeof data === 'string' && data.length * 3 <= limit) return null;
  const n = messageBytes(data);
  return n > limit ? tooLarge(label, String(n), limit) : null;
}

function tooLarge(label: DataChannelLabel, size: string, limit: number): string {
  return `${label} channel: a message of ${size} bytes exceeds its limit of ${limit} bytes; the connection is closed`;
}

function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}
