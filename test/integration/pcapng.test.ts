import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { afterAll, describe, expect, it } from 'vitest';
import {
  captureCounters,
  captureMessage,
  createCaptureBudget,
  discardCapture,
  releaseSealed,
  sealCapture,
  startCapture,
  type ConnCapture,
} from '../../relay/capture/capture-buffer.js';
import { createCaptureWriter } from '../../relay/capture/capture-writer.js';
import { forEachRecord, type CaptureRecordView } from '../../relay/capture/record-format.js';

const dir = mkdtempSync(join(tmpdir(), 'netpoke-pcap-'));
const files = createCaptureWriter();
afterAll(async () => {
  await files.close();
  rmSync(dir, { recursive: true, force: true });
});

function tshark(args: string[]): string {
  try {
    return execFileSync('tshark', args, { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new Error('tshark is not installed: apt-get install -y tshark (.ci/run does)');
    throw e;
  }
}

/** The records a capture holds, oldest first (copied out of its chunks). */
function recordsOf(cap: ConnCapture): (Omit<CaptureRecordView, 'data'> & { text: string; bytes: Uint8Array })[] {
  const out: (Omit<CaptureRecordView, 'data'> & { text: string; bytes: Uint8Array })[] = [];
  for (const c of cap.chunks) forEachRecord(c.bytes, c.used, (r) => out.push({ ...r, text: Buffer.from(r.data).toString(), bytes: r.data.slice() }));
  return out;
}

const probeText = (seq: number) => JSON.stringify({ seq, sent_at_ms: 1_764_000_000_000 + seq * 10, direction: 'c2s', conn_id: 'c1' });

describe('capture buffer', () => {
  it('keeps records in order as bytes, with times, directions and channels', () => {
    const budget = createCaptureBudget();
    const cap = startCapture(budget);
    captureMessage(cap, 1.5, 'c2r', 'probe', probeText(1));
    captureMessage(cap, 2.25, 'r2c', 'control', '{"type":"server_side_ready"}');
    captureMessage(cap, 3, 'r2c', 'probe', 'ünïcødé ✓');
    const recs = recordsOf(cap);
    expect(recs.map((r) => [r.atMs, r.dir, r.channel, r.text])).toEqual([
      [1.5, 'c2r', 'probe', probeText(1)],
      [2.25, 'r2c', 'control', '{"type":"server_side_ready"}'],
      [3, 'r2c', 'probe', 'ünïcødé ✓'],
    ]);
    expect(recs[2]!.origLen).toBe(Buffer.byteLength('ünïcødé ✓'));
    expect(captureCounters(budget)).toMatchObject({ records_captured: 3, live_captures: 1, records_dropped_conn_cap: 0, records_dropped_relay_cap: 0 });
    expect(captureCounters(budget).bytes_held).toBe(cap.held);
    discardCapture(cap);
    expect(captureCounters(budget)).toMatchObject({ bytes_held: 0, live_captures: 0 });
  });

  it('keeps a copied 64-byte prefix of bulk payloads, text or bytes, and their full length', () => {
    const cap = startCapture(createCaptureBudget());
    const sent = new Uint8Array(1000).fill(7);
    captureMessage(cap, 1, 'r2c', 'bulk', sent);
    captureMessage(cap, 2, 'c2r', 'bulk', 'é'.repeat(100));
    captureMessage(cap, 3, 'c2r', 'bulk', 'short');
    // A copy: the sender's buffer may be reused.
    sent.fill(0);
    const [bytes, text, short] = recordsOf(cap);
    expect(bytes!.bytes).toEqual(new Uint8Array(64).fill(7));
    expect(bytes!.origLen).toBe(1000);
    expect(text!.bytes.length).toBe(64);
    expect(text!.text).toBe('é'.repeat(32));
    expect(text!.origLen).toBe(200);
    expect([short!.text, short!.origLen]).toEqual(['short', 5]);
  });

  it('stays under its per-connection cap in a long capture, keeping the newest and counting the dropped', () => {
    const cap16 = 1024 * 1024;
    const budget = createCaptureBudget({ perConnMaxBytes: cap16, maxBytes: 64 * cap16 });
    const cap = startCapture(budget);
    const bulk = new Uint8Array(16 * 1024);
    const N = 300_000;
    let maxHeld = 0;
    for (let i = 0; i < N; i++) {
      captureMessage(cap, i, i % 2 ? 'r2c' : 'c2r', 'probe', probeText(i));
      if (i % 10 === 0) captureMessage(cap, i, 'c2r', 'bulk', bulk);
      maxHeld = Math.max(maxHeld, cap.held);
    }
    const total = N + N / 10;
    expect(maxHeld).toBeLessThanOrEqual(cap16);
    expect(budget.held).toBe(cap.held);
    expect(cap.records + cap.dropped).toBe(total);
    expect(cap.dropped).toBeGreaterThan(total / 2);
    expect(captureCounters(budget)).toMatchObject({ records_captured: total, records_dropped_conn_cap: cap.dropped, records_dropped_relay_cap: 0 });
    // What is left is the newest, in order, ending at the last one.
    const probes = recordsOf(cap).filter((r) => r.channel === 'probe');
    expect(probes.at(-1)!.text).toBe(probeText(N - 1));
    const seqs = probes.map((r) => (JSON.parse(r.text) as { seq: number }).seq);
    expect(seqs).toEqual(seqs.map((_, k) => seqs[0]! + k));
  });

  it('keeps the relay under its total: the connection holding the most loses its oldest records', () => {
    const budget = createCaptureBudget({ perConnMaxBytes: 1024 * 1024, maxBytes: 1280 * 1024 });
    const big = startCapture(budget);
    const small = startCapture(budget);
    for (let i = 0; i < 40_000; i++) captureMessage(big, i, 'c2r', 'probe', probeText(i));
    expect(big.held).toBeGreaterThan(900 * 1024);
    expect(budget.dropped.relayCap).toBe(0);
    for (let i = 0; i < 4_000; i++) {
      captureMessage(small, i, 'r2c', 'probe', probeText(i));
      expect(budget.held).toBeLessThanOrEqual(budget.maxBytes);
    }
    // The small one lost nothing; the big one made the room.
    expect(small.dropped).toBe(0);
    expect(small.records).toBe(4_000);
    expect(big.dropped).toBeGreaterThan(0);
    expect(captureCounters(budget).records_dropped_relay_cap).toBe(big.dropped - budget.dropped.connCap);
    expect(budget.held).toBe(big.held + small.held);
    // A sealed capture's bytes stay counted until written, then return.
    const sealed = sealCapture(small);
    expect(budget.held).toBe(big.held + sealed.held);
    captureMessage(small, 1, 'c2r', 'probe', 'after the stop');
    expect(sealed.records).toBe(4_000);
    releaseSealed(budget, sealed);
    expect(budget.held).toBe(big.held);
    expect(captureCounters(budget).live_captures).toBe(1);
  });

  it('captures nothing without a running capture', () => {
    const budget = createCaptureBudget();
    captureMessage(null, 1, 'c2r', 'probe', 'x');
    expect(captureCounters(budget)).toEqual({ bytes_held: 0, live_captures: 0, records_captured: 0, records_dropped_conn_cap: 0, records_dropped_relay_cap: 0 });
  });
});

describe('pcapng writer (worker thread)', () => {
  it('writes a file tshark reads, with exact times, directions, channels and payloads', async () => {
    const budget = createCaptureBudget();
    const cap = startCapture(budget);
    const t0 = 1_764_000_000_123.456;
    const times: number[] = [];
    for (let i = 0; i < 300; i++) {
      const c2r = i % 2 === 0;
      times.push(t0 + i * 5.001);
      captureMessage(cap, times[i]!, c2r ? 'c2r' : 'r2c', 'probe', JSON.stringify({ seq: i, direction: c2r ? 'c2s' : 's2c' }));
    }
    captureMessage(cap, t0 + 2000, 'c2r', 'control', '{"type":"stop_survey_session"}');
    captureMessage(cap, t0 + 2001, 'r2c', 'bulk', new Uint8Array(1200).fill(7));
    const sealed = sealCapture(cap);
    const file = join(dir, 'a', 'cap.pcapng');
    const written = await files.write({ path: file, chunks: sealed.chunks, meta: { client: { ip: '127.0.0.1', port: 40000 }, relay: { ip: '127.0.0.2', port: 50000 }, comment: 'survey test' } });
    expect(written).toEqual({ records: 302, bytes: statSync(file).size });
    // The chunks were handed over, not copied.
    expect(sealed.chunks[0]!.bytes.byteLength).toBe(0);

    const out = tshark(['-r', file, '-T', 'fields', '-E', 'separator=|', '-e', 'frame.time_epoch', '-e', 'ip.src', '-e', 'ip.dst', '-e', 'udp.srcport', '-e', 'udp.dstport', '-e', 'frame.len', '-e', 'data.data']);
    const rows = out.trim().split('\n').map((l) => l.split('|'));
    expect(rows).toHaveLength(302);
    for (let i = 0; i < 300; i++) {
      const [time, src, dst, sport, dport] = rows[i]!;
      expect(Number(time) * 1000).toBeCloseTo(times[i]!, 2);
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
    expect(Buffer.from(bulk[6]!, 'hex')).toEqual(Buffer.alloc(64, 7));
  });

  it('never replaces an existing file', async () => {
    const file = join(dir, 'b', 'once.pcapng');
    const meta = { client: { ip: '127.0.0.1', port: 1 }, relay: { ip: '127.0.0.2', port: 2 } };
    const one = () => {
      const cap = startCapture(createCaptureBudget());
      captureMessage(cap, 1, 'c2r', 'probe', 'x');
      return sealCapture(cap).chunks;
    };
    await files.write({ path: file, chunks: one(), meta });
    const size = statSync(file).size;
    await expect(files.write({ path: file, chunks: one(), meta: { ...meta, comment: 'a longer section header' } })).rejects.toThrow(/EEXIST/);
    expect(statSync(file).size).toBe(size);
  });

  it('writes a full 16 MiB capture without holding up the event loop', async () => {
    const budget = createCaptureBudget();
    const cap = startCapture(budget);
    let i = 0;
    while (cap.held < budget.perConnMaxBytes || cap.dropped === 0) captureMessage(cap, 1_764_000_000_000 + i, i % 2 ? 'r2c' : 'c2r', 'probe', probeText(i++));
    const sealed = sealCapture(cap);
    const h = monitorEventLoopDelay({ resolution: 1 });
    h.enable();
    const t0 = performance.now();
    const file = join(dir, 'c', 'full.pcapng');
    const written = await files.write({ path: file, chunks: sealed.chunks, meta: { client: { ip: '127.0.0.1', port: 1 }, relay: { ip: '127.0.0.2', port: 2 } } });
    const ms = performance.now() - t0;
    h.disable();
    releaseSealed(budget, sealed);
    expect(written.records).toBe(sealed.records);
    expect(written.bytes).toBeGreaterThan(16 * 1024 * 1024);
    // The loop kept turning while the worker encoded and wrote (delay includes the 1 ms resolution).
    console.log(`16 MiB capture: ${sealed.records} records, written in ${ms.toFixed(0)} ms; loop delay p99 ${(h.percentile(99) / 1e6).toFixed(2)} ms, max ${(h.max / 1e6).toFixed(2)} ms`);
    expect(h.max / 1e6).toBeLessThan(20);
    expect(Number(tshark(['-r', file, '-T', 'fields', '-e', 'frame.number']).trim().split('\n').length)).toBe(sealed.records);
  });
});
