import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { capture, createCaptureRing, snapshot, type CaptureRecord } from '../../relay/capture/capture-ring.js';
import { writePcapng } from '../../relay/capture/pcapng.js';

const dir = mkdtempSync(join(tmpdir(), 'netpoke-pcap-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function tshark(args: string[]): string {
  try {
    return execFileSync('tshark', args, { encoding: 'utf8' });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new Error('tshark is not installed: apt-get install -y tshark (.ci/run does)');
    throw e;
  }
}

describe('capture ring', () => {
  it('keeps the newest records in order and counts what it dropped', () => {
    const ring = createCaptureRing(3);
    for (let i = 0; i < 5; i++) capture(ring, { at_ms: i, dir: 'c2r', channel: 'probe', data: String(i) });
    expect(snapshot(ring).map((r) => r.data)).toEqual(['2', '3', '4']);
    expect(ring.dropped).toBe(2);
  });

  it('truncates bulk payloads, text or bytes, to a copied prefix and remembers their length', () => {
    const ring = createCaptureRing();
    const sent = new Uint8Array(1000).fill(7);
    capture(ring, { at_ms: 1, dir: 'r2c', channel: 'bulk', data: sent });
    capture(ring, { at_ms: 2, dir: 'c2r', channel: 'bulk', data: 'é'.repeat(100) });
    capture(ring, { at_ms: 3, dir: 'c2r', channel: 'bulk', data: 'short' });
    const [bytes, text, short] = snapshot(ring);
    expect((bytes!.data as Uint8Array).length).toBe(64);
    expect(bytes!.orig_len).toBe(1000);
    // A copy: the sender's buffer may be reused.
    sent.fill(0);
    expect((bytes!.data as Uint8Array)[0]).toBe(7);
    expect((text!.data as Uint8Array).length).toBe(64);
    expect(text!.orig_len).toBe(200);
    expect(short!.data).toBe('short');
    expect(short!.orig_len).toBeUndefined();
  });
});

describe('pcapng writer', () => {
  it('writes a file tshark reads, with exact times, directions, channels and payloads', () => {
    const ring = createCaptureRing();
    const t0 = 1_764_000_000_123.456;
    const recs: CaptureRecord[] = [];
    for (let i = 0; i < 300; i++) {
      const c2r = i % 2 === 0;
      recs.push({ at_ms: t0 + i * 5.001, dir: c2r ? 'c2r' : 'r2c', channel: 'probe', data: JSON.stringify({ seq: i, direction: c2r ? 'c2s' : 's2c' }) });
    }
    recs.push({ at_ms: t0 + 2000, dir: 'c2r', channel: 'control', data: '{"type":"stop_survey_session"}' });
    recs.push({ at_ms: t0 + 2001, dir: 'r2c', channel: 'bulk', data: new Uint8Array(1200).fill(7) });
    for (const r of recs) capture(ring, r);
    const file = join(dir, 'a', 'cap.pcapng');
    return writePcapng(file, snapshot(ring), {
      client: { ip: '127.0.0.1', port: 40000 },
      relay: { ip: '127.0.0.2', port: 50000 },
      comment: 'survey test',
    }).then(() => {
      const out = tshark(['-r', file, '-T', 'fields', '-E', 'separator=|', '-e', 'frame.time_epoch', '-e', 'ip.src', '-e', 'ip.dst', '-e', 'udp.srcport', '-e', 'udp.dstport', '-e', 'frame.len', '-e', 'data.data']);
      const rows = out.trim().split('\n').map((l) => l.split('|'));
      expect(rows).toHaveLength(recs.length);
      for (let i = 0; i < 300; i++) {
        const [time, src, dst, sport, dport] = rows[i]!;
        expect(Number(time) * 1000).toBeCloseTo(recs[i]!.at_ms, 2);
        const c2r = i % 2 === 0;
        expect([src, dst]).toEqual(c2r ? ['127.0.0.1', '127.0.0.2'] : ['127.0.0.2', '127.0.0.1']);
        expect(c2r ? dport : sport).toBe('50000');
      }
      const control = rows[300]!;
      expect(control[4]).toBe('50002');
      expect(Buffer.from(control[6]!, 'hex').toString()).toBe('{"type":"stop_survey_session"}');
      const bulk = rows[301]!;
      expect(bulk[3]).toBe('50001');
      expect(Number(bulk[5])).toBe(28 + 1200);
    });
  });
});
