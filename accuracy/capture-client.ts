// Reads back, from a relay capture file, the client address the relay's ICE selected (relay/capture/pcapng.ts writes it into every packet).
import { readFile } from 'node:fs/promises';

const ENHANCED_PACKET_BLOCK = 6;

/** The client address of the first packet in a NetPoke pcapng file; null if it has none. */
export async function captureClientAddr(path: string, relayPort: number): Promise<{ ip: string; port: number } | null> {
  const buf = await readFile(path);
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  for (let at = 0; at + 12 <= buf.length; ) {
    const type = v.getUint32(at, true);
    const len = v.getUint32(at + 4, true);
    if (len < 12 || at + len > buf.length) break;
    if (type === ENHANCED_PACKET_BLOCK && len >= 12 + 20 + 28) {
      // Block header (8) + EPB fields (20), then a synthetic IPv4/UDP packet.
      const ip = at + 28;
      const src = [...buf.subarray(ip + 12, ip + 16)].join('.');
      const dst = [...buf.subarray(ip + 16, ip + 20)].join('.');
      const sport = v.getUint16(ip + 20);
      const dport = v.getUint16(ip + 22);
      // The relay's end is its UDP port plus 0..2 (one port per channel); the client is the other end.
      const isRelay = (p: number) => p - relayPort >= 0 && p - relayPort <= 2;
      if (isRelay(dport)) return { ip: src, port: sport };
      if (isRelay(sport)) return { ip: dst, port: dport };
    }
    at += len;
  }
  return null;
}
