import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { captureClientAddr } from '../../accuracy/capture-client.js';
import { classifyDatagram } from '../../accuracy/datagram-kind.js';
import type { ForwarderLog } from '../../accuracy/forwarder.js';
import { HarnessError } from '../../accuracy/harness-error.js';
import { checkNoBypass } from '../../accuracy/no-bypass.js';
import { pointCandidatesAt, stripCandidates } from '../../accuracy/signal-through.js';
import { datagramRecord } from '../helpers/datagram-record.js';
import { directionTruth, roundTripTruth } from '../../accuracy/truth.js';

const dir = mkdtempSync(join(tmpdir(), 'netpoke-accuracy-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const offer = [
  'v=0',
  'o=rtc 1 0 IN IP4 127.0.0.1',
  'm=application 9 UDP/DTLS/SCTP webrtc-datachannel',
  'c=IN IP4 0.0.0.0',
  'a=candidate:1 1 UDP 2122317823 172.17.0.2 40001 typ host',
  'a=candidate:2 1 UDP 2122317567 127.0.0.1 40001 typ host',
  'a=candidate:3 1 TCP 1010827775 127.0.0.1 9 typ host tcptype active',
  'a=candidate:4 1 UDP 1686052607 203.0.113.5 50000 typ srflx raddr 172.17.0.2 rport 40001',
  'a=end-of-candidates',
  '',
].join('\r\n');

describe('signaling through the forwarder', () => {
  it('strips every candidate from the offer and keeps the rest', () => {
    const out = stripCandidates(offer);
    expect(out).not.toContain('a=candidate');
    expect(out).toContain('a=end-of-candidates');
    expect(out).toContain('m=application 9 UDP/DTLS/SCTP');
  });

  it('points every UDP candidate of the answer at the forwarder, once, and drops the rest', () => {
    const out = pointCandidatesAt(offer, { ip: '127.0.0.1', port: 5555 });
    const cands = out.split('\r\n').filter((l) => l.startsWith('a=candidate:'));
    expect(cands).toEqual(['a=candidate:1 1 UDP 2122317823 127.0.0.1 5555 typ host']);
    expect(out).not.toMatch(/172\.17|203\.0\.113|TCP/);
    expect(() => pointCandidatesAt(stripCandidates(offer), { ip: '127.0.0.1', port: 5555 })).toThrow(/without a UDP candidate/);
  });
});

describe('datagram classes', () => {
  it('tells STUN, DTLS handshake, application data and bare SCTP control apart', () => {
    expect(classifyDatagram(Uint8Array.of(0, 1, 0, 0), 130)).toBe('stun');
    expect(classifyDatagram(Uint8Array.of(22, 254, 253), 130)).toBe('dtls-handshake');
    expect(classifyDatagram(Uint8Array.of(20, 254, 253), 130)).toBe('dtls-handshake');
    expect(classifyDatagram(new Uint8Array(300).fill(23, 0, 1), 130)).toBe('dtls-app');
    expect(classifyDatagram(new Uint8Array(70).fill(23, 0, 1), 130)).toBe('dtls-app-small');
    expect(classifyDatagram(Uint8Array.of(128, 0), 130)).toBe('other');
    expect(classifyDatagram(new Uint8Array(0), 130)).toBe('other');
  });
});

/** A record of an impairable datagram. */
const rec = datagramRecord;

describe('truth from the forwarder log', () => {
  it('counts loss over impairable datagrams, RFC 4737 reordering on departures, IPDV of consecutive pairs', () => {
    const log = [
      rec(0, 0, 10, 0),
      rec(1, 10, 24, 2, { held: true }), // left after 2: reordered
      rec(2, 20, 31, 1),
      rec(3, 30, null, null), // dropped
      rec(4, 40, 52, 3),
      rec(5, 45, 45.1, 4, { kind: 'dtls-app-small', impairable: false, size: 60 }),
      rec(6, 50, 60, 5, { armed: false, impairable: false }),
    ];
    const t = directionTruth(log);
    expect(t.datagrams).toBe(7);
    expect(t.seen).toBe(5);
    expect(t.dropped).toBe(1);
    expect(t.forwarded).toBe(4);
    expect(t.lossPct).toBe(20);
    expect(t.held).toBe(1);
    expect(t.reordered).toBe(1);
    expect(t.appliedMs).toEqual([10, 14, 11, 12]);
    // Pairs (0,1) and (1,2); (2,3) and (3,4) have a lost member.
    expect(t.ipdv.p50).toBe(3);
    expect(t.ipdv.p99).toBe(4);
    expect(t.applied.p50).toBe(11);
    expect(t.deviation.p99).toBe(4);
  });

  it('weighs loss by bytes less the 49 bytes of DTLS and SCTP headers: a dropped bundle of three probes counts three times one', () => {
    // Payloads 251, 251, 753 (three bundled), 251: the 802-byte one dropped is 753 / 1506 = 50 %, though 1 datagram of 4.
    const log = [rec(0, 0, 10, 0), rec(1, 10, 20, 1), rec(2, 20, null, null, { size: 802 }), rec(3, 30, 40, 2)];
    const t = directionTruth(log);
    expect(t.lossPct).toBe(25);
    expect(t.lossBytesPct).toBe(50);
    // From `expectedFrom` on only: the receiver was not listening before 15 (datagrams 0 and 1 are not counted).
    expect(directionTruth(log, 15).lossBytesPct).toBeCloseTo((753 / (753 + 251)) * 100, 9);
  });

  it('pairs each probe with the datagram that carries its echo, so slow carriers of many echoes weigh as they do', () => {
    // c2s: bursts of two probes every 20 ms (arriving at 0 and 0.5), 5 ms each. s2c: the relay's probes arrive
    // at 7 and 17 in each 20 ms; the one at 7 carries the burst's two echoes and is held 40 ms, the one at 17
    // carries none and is held 20 ms. Independent draws would put the median at 25; the echo paths are 45.
    const c2s = Array.from({ length: 200 }, (_, i) => {
      const at = Math.floor(i / 2) * 20 + (i % 2) * 0.5;
      return rec(i, at, at + 5, i);
    });
    const s2c = Array.from({ length: 200 }, (_, i) => {
      const at = Math.floor(i / 2) * 20 + (i % 2 ? 17 : 7);
      return rec(i, at, at + (i % 2 ? 20 : 40), i);
    });
    // Every c2s probe: 5 + 40 (200). s2c probes: the ones at 7 come back in a c2s probe 5 ms later (45, 97 of
    // them with a c2s probe still to come), the ones at 17 likewise (25, 98).
    const rtt = roundTripTruth({ c2s, s2c });
    expect(rtt.samples).toBe(395);
    expect(rtt.p50).toBe(45);
    expect(rtt.p99).toBe(45);
    expect(rtt.mean).toBeCloseTo((297 * 45 + 98 * 25) / 395, 9);
    // A dropped carrier: its two echoes never come back, and it is no probe of its own either.
    s2c[0] = rec(0, 7, null, null);
    expect(roundTripTruth({ c2s, s2c }).samples).toBe(392);
  });
});

describe('bypass check', () => {
  const steady = (seconds: number) => Array.from({ length: seconds * 100 }, (_, i) => rec(i, i * 10, i * 10 + 1, i));
  const log = (over: Partial<ForwarderLog> = {}): ForwarderLog => ({
    c2s: steady(3),
    s2c: steady(3),
    port: 4000,
    upstreams: [{ client: '127.0.0.1:5000', port: 4001 }],
    foreign: 0,
    ...over,
  });
  const relaySaw = { ip: '127.0.0.1', port: 4001 };
  const received = { c2s: 300, s2c: 300 };

  it('passes when the relay saw the upstream port and the forwarder carried the probes every second', () => {
    expect(() => checkNoBypass(log(), relaySaw, 3000, received)).not.toThrow();
    // A thin second (a sender stall) is not a bypass.
    const thin = log({ s2c: steady(3).filter((r) => r.atMs < 1000 || r.atMs >= 1900) });
    expect(() => checkNoBypass(thin, relaySaw, 3000, { c2s: 300, s2c: 210 })).not.toThrow();
  });

  it('fails when the relay selected another address, a second went silent, or NetPoke got probes the forwarder never carried', () => {
    expect(() => checkNoBypass(log(), { ip: '127.0.0.1', port: 5000 }, 3000, received)).toThrow(HarnessError);
    expect(() => checkNoBypass(log(), null, 3000, received)).toThrow(/no client address/);
    const quiet = log({ s2c: steady(3).filter((r) => r.atMs < 1000 || r.atMs >= 2000) });
    expect(() => checkNoBypass(quiet, relaySaw, 3000, received)).toThrow(/no s2c data in second 1/);
    // 300 datagrams of 300 bytes carry at most 900 probes.
    expect(() => checkNoBypass(log(), relaySaw, 3000, { c2s: 300, s2c: 900 })).not.toThrow();
    expect(() => checkNoBypass(log(), relaySaw, 3000, { c2s: 300, s2c: 901 })).toThrow(/received 901 s2c probes, the forwarder carried only 90000 bytes/);
    expect(() => checkNoBypass(log({ upstreams: [] }), relaySaw, 3000, received)).toThrow(/one client/);
  });
});

/** A pcapng block: type, length, body (padded to 4), length again. */
function block(type: number, body: Uint8Array): Uint8Array {
  const len = 12 + ((body.length + 3) & ~3);
  const out = new Uint8Array(len);
  const v = new DataView(out.buffer);
  v.setUint32(0, type, true);
  v.setUint32(4, len, true);
  out.set(body, 8);
  v.setUint32(len - 4, len, true);
  return out;
}

/** A file as the relay writes one (section header, interface, then synthetic IPv4/UDP packets in enhanced packet blocks). */
function pcapng(packets: { src: number[]; dst: number[]; sport: number; dport: number }[]): Uint8Array {
  const shb = new Uint8Array(16);
  new DataView(shb.buffer).setUint32(0, 0x1a2b3c4d, true);
  const idb = new Uint8Array(8);
  new DataView(idb.buffer).setUint16(0, 101, true);
  const blocks = [block(0x0a0d0d0a, shb), block(1, idb)];
  for (const p of packets) {
    const body = new Uint8Array(20 + 28 + 4);
    const v = new DataView(body.buffer);
    v.setUint32(12, 32, true);
    v.setUint32(16, 32, true);
    body[20] = 0x45;
    body.set(p.src, 20 + 12);
    body.set(p.dst, 20 + 16);
    v.setUint16(20 + 20, p.sport);
    v.setUint16(20 + 22, p.dport);
    blocks.push(block(6, body));
  }
  const out = new Uint8Array(blocks.reduce((n, b) => n + b.length, 0));
  let at = 0;
  for (const b of blocks) {
    out.set(b, at);
    at += b.length;
  }
  return out;
}

describe('client address from a relay capture', () => {
  const client = [127, 0, 0, 1];
  const relay = [127, 0, 0, 2];
  const file = join(dir, 'c.pcapng');
  it('reads the client end of the packets the relay wrote, either way round', async () => {
    writeFileSync(file, pcapng([{ src: relay, dst: client, sport: 50002, dport: 41000 }]));
    expect(await captureClientAddr(file, 50000)).toEqual({ ip: '127.0.0.1', port: 41000 });
    writeFileSync(file, pcapng([{ src: client, dst: relay, sport: 41000, dport: 50000 }]));
    expect(await captureClientAddr(file, 50000)).toEqual({ ip: '127.0.0.1', port: 41000 });
  });

  it('finds none in a file without packets or without the relay port', async () => {
    writeFileSync(file, pcapng([]));
    expect(await captureClientAddr(file, 50000)).toBeNull();
    writeFileSync(file, pcapng([{ src: client, dst: relay, sport: 41000, dport: 60000 }]));
    expect(await captureClientAddr(file, 50000)).toBeNull();
  });
});
