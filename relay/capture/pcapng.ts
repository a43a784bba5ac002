import { mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { isIPv4 } from 'node:net';
import { concatBytes } from '../../shared/bytes.js';
import type { CaptureRecord } from './capture-ring.js';

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

const LINKTYPE_RAW = 101;
const CHANNEL_PORT_OFFSET = { probe: 0, bulk: 1, control: 2 } as const;
const enc = new TextEncoder();

/** Encodes records as a whole pcapng file. */
export function encodePcapng(records: readonly CaptureRecord[], meta: PcapMeta): Uint8Array {
  const blocks: Uint8Array[] = [sectionHeader(meta.comment), interfaceDescription()];
  const client = ipv4Bytes(meta.client.ip, [192, 0, 2, 1]);
  const relay = ipv4Bytes(meta.relay.ip, [192, 0, 2, 2]);
  for (const r of records) {
    const payload = typeof r.data === 'string' ? enc.encode(r.data) : r.data;
    const relayPort = (meta.relay.port + CHANNEL_PORT_OFFSET[r.channel]) & 0xffff;
    const fromClient = r.dir === 'c2r';
    const origPayload = r.orig_len ?? payload.length;
    const packet = ipv4Udp(
      fromClient ? client : relay,
      fromClient ? relay : client,
      fromClient ? meta.client.port : relayPort,
      fromClient ? relayPort : meta.client.port,
      payload,
      origPayload,
    );
    blocks.push(enhancedPacket(r.at_ms, packet, 28 + origPayload));
  }
  return concatBytes(blocks);
}

/** Writes the file atomically (temp file, then rename), creating its folder. */
export async function writePcapng(path: string, records: readonly CaptureRecord[], meta: PcapMeta): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, encodePcapng(records, meta));
  await rename(tmp, path);
}

function ipv4Bytes(ip: string, fallback: number[]): number[] {
  const plain = ip.replace(/^::ffff:/, '');
  return isIPv4(plain) ? plain.split('.').map(Number) : fallback;
}

function ipv4Udp(src: number[], dst: number[], sport: number, dport: number, payload: Uint8Array, origPayload: number): Uint8Array {
  const pkt = new Uint8Array(28 + payload.length);
  const v = new DataView(pkt.buffer);
  const totalLen = Math.min(28 + origPayload, 0xffff);
  v.setUint8(0, 0x45);
  v.setUint16(2, totalLen);
  v.setUint16(6, 0x4000); // don't fragment
  v.setUint8(8, 64);
  v.setUint8(9, 17); // UDP
  pkt.set(src, 12);
  pkt.set(dst, 16);
  let sum = 0;
  for (let i = 0; i < 20; i += 2) sum += v.getUint16(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  v.setUint16(10, ~sum & 0xffff);
  v.setUint16(20, sport);
  v.setUint16(22, dport);
  v.setUint16(24, Math.min(8 + origPayload, 0xffff));
  v.setUint16(26, 0); // checksum optional over IPv4
  pkt.set(payload, 28);
  return pkt;
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

function enhancedPacket(atMs: number, packet: Uint8Array, origLen: number): Uint8Array {
  const head = new Uint8Array(20);
  const v = new DataView(head.buffer);
  const micros = BigInt(Math.round(atMs * 1000));
  v.setUint32(0, 0, true);
  v.setUint32(4, Number(micros >> 32n), true);
  v.setUint32(8, Number(micros & 0xffffffffn), true);
  v.setUint32(12, packet.length, true);
  v.setUint32(16, origLen, true);
  const data = new Uint8Array(pad4(packet.length));
  data.set(packet);
  return block(0x00000006, concatBytes([head, data]));
}

function pad4(n: number): number {
  return (n + 3) & ~3;
}
