import { closeSync, linkSync, mkdirSync, openSync, unlinkSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { isIPv4 } from 'node:net';
import { randomUUID } from 'node:crypto';
import { concatBytes } from '../../shared/bytes.js';
import { CHANNEL_CODES, forEachRecord, MAX_RECORD_BYTES } from './record-format.js';

/**
 * Writes captured data-channel messages as pcapng. The relay sees messages,
 * not wire packets (SCTP runs inside DTLS inside libdatachannel), so each
 * message is framed as a synthetic IPv4/UDP datagram (LINKTYPE_RAW) between
 * the client and relay addresses; the relay-side UDP port tells the channel:
 * relay port = probe, +1 = bulk, +2 = control. Non-IPv4 peers are shown as
 * 192.0.2.1 (client) / 192.0.2.2 (relay), documentation addresses.
 */
export interface PcapMeta {
  client: { ip: string; port: number };
  relay: { ip: string; port: number };
  comment?: string;
}

/** Record chunks as the capture buffer hands them over: `bytes[0..used)` holds whole records. */
export interface RecordChunk {
  bytes: Uint8Array;
  used: number;
}

const LINKTYPE_RAW = 101;
const IP_UDP_BYTES = 28;
/** Enhanced Packet Block: 28 bytes before the packet, 4 after. */
const EPB_OVERHEAD = 32;
const PIECE_BYTES = 1024 * 1024;
const enc = new TextEncoder();

/**
 * Encodes records as pcapng, handing it to `out` in pieces of about 1 MiB
 * (`out` must consume each piece before it returns: the buffer is reused).
 */
export function encodePcapng(chunks: readonly RecordChunk[], meta: PcapMeta, out: (piece: Uint8Array) => void): { records: number; bytes: number } {
  const head = concatBytes([sectionHeader(meta.comment), interfaceDescription()]);
  out(head);
  const client = ipv4Bytes(meta.client.ip, [192, 0, 2, 1]);
  const relay = ipv4Bytes(meta.relay.ip, [192, 0, 2, 2]);
  const buf = new Uint8Array(PIECE_BYTES);
  const v = new DataView(buf.buffer);
  let at = 0;
  let records = 0;
  let bytes = head.length;
  for (const chunk of chunks) {
    forEachRecord(chunk.bytes, chunk.used, (r) => {
      if (at + EPB_OVERHEAD + IP_UDP_BYTES + MAX_RECORD_BYTES > buf.length) {
        out(buf.subarray(0, at));
        bytes += at;
        at = 0;
      }
      const relayPort = (meta.relay.port + CHANNEL_CODES[r.channel]) & 0xffff;
      const fromClient = r.dir === 'c2r';
      const pktLen = IP_UDP_BYTES + r.data.length;
      const blockLen = EPB_OVERHEAD + pad4(pktLen);
      const micros = Math.round(r.atMs * 1000);
      v.setUint32(at, 0x00000006, true);
      v.setUint32(at + 4, blockLen, true);
      v.setUint32(at + 8, 0, true); // interface 0
      v.setUint32(at + 12, Math.floor(micros / 2 ** 32), true);
      v.setUint32(at + 16, micros >>> 0, true);
      v.setUint32(at + 20, pktLen, true);
      v.setUint32(at + 24, IP_UDP_BYTES + r.origLen, true);
      writeIpv4Udp(buf, v, at + 28, {
        src: fromClient ? client : relay,
        dst: fromClient ? relay : client,
        sport: fromClient ? meta.client.port : relayPort,
        dport: fromClient ? relayPort : meta.client.port,
        origPayload: r.origLen,
      });
      buf.set(r.data, at + 28 + IP_UDP_BYTES);
      buf.fill(0, at + 28 + pktLen, at + blockLen - 4);
      v.setUint32(at + blockLen - 4, blockLen, true);
      at += blockLen;
      records++;
    });
  }
  out(buf.subarray(0, at));
  return { records, bytes: bytes + at };
}

/**
 * Writes the file under a unique temp name, then links it into place: an
 * existing file at `path` is never replaced (EEXIST). Synchronous, for the
 * capture worker thread, never the relay's event loop.
 */
export function writePcapngFileSync(path: string, chunks: readonly RecordChunk[], meta: PcapMeta): { records: number; bytes: number } {
  // Captures hold clients' addresses and traffic: owner-only, whatever the umask.
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${randomUUID()}.tmp`;
  const fd = openSync(tmp, 'wx', 0o600);
  try {
    let result;
    try {
      result = encodePcapng(chunks, meta, (piece) => {
        for (let off = 0; off < piece.length; ) off += writeSync(fd, piece, off);
      });
    } finally {
      closeSync(fd);
    }
    linkSync(tmp, path);
    return result;
  } finally {
    unlinkSync(tmp);
  }
}

function ipv4Bytes(ip: string, fallback: number[]): number[] {
  const plain = ip.replace(/^::ffff:/, '');
  return isIPv4(plain) ? plain.split('.').map(Number) : fallback;
}

function writeIpv4Udp(buf: Uint8Array, v: DataView, at: number, p: { src: number[]; dst: number[]; sport: number; dport: number; origPayload: number }): void {
  buf.fill(0, at, at + IP_UDP_BYTES);
  v.setUint8(at, 0x45);
  v.setUint16(at + 2, Math.min(IP_UDP_BYTES + p.origPayload, 0xffff));
  v.setUint16(at + 6, 0x4000); // don't fragment
  v.setUint8(at + 8, 64);
  v.setUint8(at + 9, 17); // UDP
  buf.set(p.src, at + 12);
  buf.set(p.dst, at + 16);
  let sum = 0;
  for (let i = 0; i < 20; i += 2) sum += v.getUint16(at + i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  v.setUint16(at + 10, ~sum & 0xffff);
  v.setUint16(at + 20, p.sport);
  v.setUint16(at + 22, p.dport);
  v.setUint16(at + 24, Math.min(8 + p.origPayload, 0xffff));
  // UDP checksum 0: optional over IPv4.
}

function block(type: number, body: Uint8Array): Uint8Array {
  const len = 12 + body.length;
  const out = new Uint8Array(len);
  const v = new DataView(out.buffer);
  v.setUint32(0, type, true);
  v.setUint32(4, len, true);
  out.set(body, 8);
  v.setUint32(len - 4, len, true);
  return out;
}

function options(opts: [code: number, value: Uint8Array][]): Uint8Array {
  if (opts.length === 0) return new Uint8Array(0);
  const parts = opts.map(([code, value]) => {
    const padded = new Uint8Array(4 + pad4(value.length));
    const v = new DataView(padded.buffer);
    v.setUint16(0, code, true);
    v.setUint16(2, value.length, true);
    padded.set(value, 4);
    return padded;
  });
  parts.push(new Uint8Array(4)); // opt_endofopt
  return concatBytes(parts);
}

function sectionHeader(comment?: string): Uint8Array {
  const head = new Uint8Array(16);
  const v = new DataView(head.buffer);
  v.setUint32(0, 0x1a2b3c4d, true);
  v.setUint16(4, 1, true);
  v.setUint16(6, 0, true);
  v.setBigInt64(8, -1n, true); // section length unknown
  const opts: [number, Uint8Array][] = [[4, enc.encode('NetPoke relay')]];
  if (comment) opts.unshift([1, enc.encode(comment)]);
  return block(0x0a0d0d0a, concatBytes([head, options(opts)]));
}

function interfaceDescription(): Uint8Array {
  const head = new Uint8Array(8);
  const v = new DataView(head.buffer);
  v.setUint16(0, LINKTYPE_RAW, true);
  v.setUint32(4, 0, true); // no snaplen limit
  const opts = options([
    [2, enc.encode('netpoke-datachannels')],
    [3, enc.encode('NetPoke data-channel messages (synthetic IPv4/UDP)')],
  ]);
  return block(0x00000001, concatBytes([head, opts]));
}

function pad4(n: number): number {
  return (n + 3) & ~3;
}
