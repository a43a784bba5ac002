// Per-window sketches and their merge (shared/stats/sketch.ts, aggregateStats): crafted samples with hand-computed
// percentiles, checked against hdr-histogram-js's own decoder and against the approximation they replace.
import * as hdr from 'hdr-histogram-js';
import { describe, expect, it } from 'vitest';
import { parseControlMessage } from '../../shared/protocol/control.js';
import { DirectionStatsSchema } from '../../shared/protocol/stats.js';
import { aggregateStats, createReceiver, recordProbe, recordRtt, takeReport, type DirectionStats } from '../../shared/stats/index.js';
import { createHistory, pushTick, summarize } from '../../page/model.js';
import { DirectionSummarySchema } from '../../page/console/surveys/survey-schemas.js';
import { SUMMARY_ROWS, summaryCell } from '../../page/console/surveys/survey-summary-table.js';
import { decodeSketch, decodeWindowSketches, encodeSketch, MAX_SKETCH_CHARS, SKETCH_FORMAT, sketchOf, sketchPercentile, windowSketches } from '../../shared/stats/sketch.js';

const T0 = 1_764_000_000_000;

/** Within the sketch's stated error: 1 % relative, plus the µs its values are rounded to. */
const near = (got: number, want: number) => expect(Math.abs(got - want)).toBeLessThanOrEqual(Math.abs(want) * 0.01 + 0.001);

/** A deterministic spread of values (a linear congruential generator): no Math.random in assertions. */
function lcg(seed: number): () => number {
  let x = seed;
  return () => {
    x = (x * 1_103_515_245 + 12_345) % 2_147_483_648;
    return x / 2_147_483_648;
  };
}

/** One closed window whose RTT samples are exactly `rtts` (ms), with one probe arriving so it counts as a window with data. */
function rttWindow(rtts: readonly number[], at: number): DirectionStats {
  const r = createReceiver();
  recordProbe(r, 0, at, at + 5);
  for (const v of rtts) recordRtt(r, v);
  return takeReport(r, at + 1_000);
}

const withoutSketches = (s: DirectionStats): DirectionStats => {
  const { sketches: _s, sketch_format: _f, ...rest } = s;
  return rest;
};

describe('one window sketch', () => {
  it('reads nearest-rank p50/p99 within 1 % of the sorted samples, and hdr-histogram-js decodes the same counts', () => {
    const next = lcg(7);
    for (const n of [1, 3, 17, 100, 1000]) {
      const samples = Array.from({ length: n }, () => 0.05 + next() * next() * 500);
      const sorted = [...samples].sort((a, b) => a - b);
      const rank = (p: number) => sorted[Math.max(1, Math.ceil((p / 100) * n)) - 1]!;
      const enc = encodeSketch(sketchOf(samples));
      const s = decodeSketch(enc)!;
      expect(s.total).toBe(n);
      near(sketchPercentile(s, 50), rank(50));
      near(sketchPercentile(s, 99), rank(99));
      const lib = hdr.decodeFromCompressedBase64(enc);
      expect(lib.totalCount).toBe(n);
      // The library's own percentile (µs) lands within its 2-digit precision of the same sample.
      expect(Math.abs(lib.getValueAtPercentile(99) / 1000 - rank(99))).toBeLessThanOrEqual(rank(99) * 0.01 + 0.001);
    }
  });

  it('counts samples below zero as 0 and beyond 60 s as 60 s, and an empty sketch decodes empty', () => {
    const s = decodeSketch(encodeSketch(sketchOf([-3, -0.5, 0.2, 120_000])))!;
    expect(s.total).toBe(4);
    expect(sketchPercentile(s, 50)).toBe(0);
    near(sketchPercentile(s, 99), 60_000);
    expect(decodeSketch(encodeSketch(sketchOf([])))).toEqual({ index: [], count: [], total: 0 });
  });

  it('decodes garbage to null, never throws', () => {
    for (const bad of ['', 'not base64!', 'AAAA', 'HISTFAAAAEh4nDWJQQqAUBBCzRGZRY', btoa('x'.repeat(64))]) expect(decodeSketch(bad)).toBeNull();
  });

  it('a realistic window carries all three sketches in under 1 KiB, and probe_stats with both directions sketched stays under 3 KiB', () => {
    const next = lcg(11);
    const r = createReceiver();
    // 100 probes of a WAN-like second: delay 30–45 ms, RTT 60–90 ms, none lost.
    for (let seq = 0; seq < 100; seq++) recordProbe(r, seq, T0 + seq * 10, T0 + seq * 10 + 30 + next() * 15);
    for (let k = 0; k < 100; k++) recordRtt(r, 60 + next() * 30);
    const w = takeReport(r, T0 + 1_600);
    expect(w.sketch_format).toBe(SKETCH_FORMAT);
    const total = w.sketches!.delay.length + w.sketches!.ipdv.length + w.sketches!.rtt.length;
    expect(total).toBeLessThanOrEqual(1_024);
    expect(decodeSketch(w.sketches!.delay)!.total).toBe(w.probe_count);
    expect(decodeSketch(w.sketches!.rtt)!.total).toBe(100);
    expect(decodeSketch(w.sketches!.ipdv)!.total).toBe(99);
    const text = JSON.stringify({
      type: 'probe_stats',
      survey_session_id: '2b0c6c1e-8a43-4d57-9b51-6a0f1f2f3a4b',
      conn_id: 'c'.repeat(36),
      timestamp_ms: T0,
      c2s_stats: w,
      s2c_stats: w,
      throughput: { c2s_bytes_per_s: 1e6, s2c_bytes_per_s: 1e6 },
    });
    expect(text.length).toBeLessThan(3 * 1024);
    expect(parseControlMessage(text).ok).toBe(true);
  });

  it('the schema takes sketches as optional and refuses oversized or non-base64 ones', () => {
    const w = rttWindow([1, 2, 3], T0);
    expect(DirectionStatsSchema.safeParse(w).success).toBe(true);
    expect(DirectionStatsSchema.safeParse(withoutSketches(w)).success).toBe(true);
    expect(DirectionStatsSchema.safeParse({ ...w, sketches: { ...w.sketches!, rtt: 'A'.repeat(MAX_SKETCH_CHARS + 4) } }).success).toBe(false);
    expect(DirectionStatsSchema.safeParse({ ...w, sketches: { ...w.sketches!, delay: '{"x":1}' } }).success).toBe(false);
  });
});

describe('percentiles over many windows', () => {
  it('p50 of five windows of 100 samples at 20 ms and six of 3 samples at 80 ms is 20 ms, not the median of p50s (80)', () => {
    const windows = [...Array.from({ length: 5 }, (_, k) => rttWindow(Array(100).fill(20), T0 + k * 1000)), ...Array.from({ length: 6 }, (_, k) => rttWindow(Array(3).fill(80), T0 + (5 + k) * 1000))];
    const agg = aggregateStats(windows);
    expect(agg.percentiles).toBe('merged');
    near(agg.rtt_ms[0], 20);
    expect(agg.rtt_ms[2]).toBe(20);
    expect(agg.rtt_ms[3]).toBe(80);
    // What it replaces: the median of the eleven p50s.
    expect(aggregateStats(windows.map(withoutSketches)).rtt_ms[0]).toBe(80);
  });

  it('p99 over 60 one-second windows is the true p99 of all samples (49 ms), not the largest per-second p99 (79 ms)', () => {
    // Window k: 98 samples at 10 ms and 2 at 20 + k ms. All 6000: 5880 at 10, then two each of 20..79;
    // rank ⌈0.99 · 6000⌉ = 5940 is the 60th of those 120, i.e. 20 + 29 = 49 ms.
    const windows = Array.from({ length: 60 }, (_, k) => rttWindow([...Array(98).fill(10), 20 + k, 20 + k], T0 + k * 1000));
    const agg = aggregateStats(windows);
    expect(agg.percentiles).toBe('merged');
    near(agg.rtt_ms[1], 49);
    near(agg.rtt_ms[0], 10);
    expect(aggregateStats(windows.map(withoutSketches)).rtt_ms[1]).toBe(79);
  });

  it('a window without sketches is never mixed in: the whole span falls back to per-second figures and says so', () => {
    const windows = [...Array.from({ length: 5 }, (_, k) => rttWindow(Array(100).fill(20), T0 + k * 1000)), ...Array.from({ length: 6 }, (_, k) => rttWindow(Array(3).fill(80), T0 + (5 + k) * 1000))];
    windows[10] = withoutSketches(windows[10]!);
    const agg = aggregateStats(windows);
    expect(agg.percentiles).toBe('per_second_approx');
    expect(agg.rtt_ms[0]).toBe(80);
    expect(aggregateStats(windows.slice(0, 5)).percentiles).toBe('merged');
    // A foreign format counts as none.
    expect(aggregateStats([{ ...windows[0]!, sketch_format: 'ddsketch-proto-1' }]).percentiles).toBe('per_second_approx');
  });

  it("the page's 10 s column merges seconds that were themselves merged over two connections", () => {
    // Each second: connection A has 100 samples at 20 ms, connection B 3 at 80 ms. Ten seconds: 1000 at 20, 30 at 80.
    const h = createHistory();
    for (let k = 0; k < 10; k++) {
      const a = rttWindow(Array(100).fill(20), T0 + k * 1000);
      const b = rttWindow(Array(3).fill(80), T0 + k * 1000);
      pushTick(h, T0 + k * 1000, [a, b].map((s) => ({ c2s: s, s2c: s, c2s_bps: 0, s2c_bps: 0, paused_ms: 0 })));
    }
    expect(h.seconds[0]!.s2c.sketches).toBeDefined();
    const w = summarize(h, '10s');
    expect(w.s2c.percentiles).toBe('merged');
    near(w.s2c.rtt_ms[0], 20);
    near(w.s2c.rtt_ms[1], 80); // rank ⌈0.99 · 1030⌉ = 1020 is past the 1000 samples at 20 ms
    // A summary for display carries no sketches of its own.
    expect(w.s2c.sketches).toBeUndefined();
  });

  it('an aggregate that keeps its sketches decodes, from the cache it primes, to exactly what its strings decode to', () => {
    const a = rttWindow([...Array(100).fill(20), 31.4, 0.02], T0);
    const b = rttWindow(Array(3).fill(80), T0);
    const agg = aggregateStats([a, b], { keepSketches: true });
    const remembered = decodeWindowSketches(agg.sketches!)!;
    // A copy of the strings is another object: decoded afresh, not from the cache.
    const fresh = decodeWindowSketches({ ...agg.sketches! })!;
    expect(remembered).not.toBe(fresh);
    expect(remembered).toEqual(fresh);
    expect(fresh.rtt.total).toBe(105);
  });

  it('a window built from samples decodes, from the cache it primes, to exactly what its strings decode to', () => {
    const w = windowSketches([0.5, 1.5, 0], [0.1, 7.25], [20, 20.5, 31.4])!;
    expect(decodeWindowSketches(w)).toEqual(decodeWindowSketches({ ...w }));
    expect(decodeWindowSketches(w)!.rtt.total).toBe(3);
  });
});

describe("the console's summary says where percentiles come from", () => {
  const base = { seconds: 3, probes_expected: 300, probes_received: 300, probes_lost: 0, loss_rate: 0, reordered: 0, reorder_rate: 0, seconds_without_arrivals: 0 };
  const quads = { delay_deviation_ms: null, jitter_ms: null, rtt_ms: { p50: 20, p99: 80, min: 20, max: 80 }, throughput_bps: null };
  const row = SUMMARY_ROWS.find((r) => r.id === 'percentiles')!;
  it('merged, approximate (an older survey), or nothing from an older edge', () => {
    const cell = (extra: object) => summaryCell(row, DirectionSummarySchema.parse({ ...base, ...quads, ...extra }));
    expect(cell({ percentiles: 'merged' })).toBe('merged per-second sketches');
    expect(cell({ percentiles: 'per_second_approx' })).toMatch(/^approximation: median of per-second p50s, largest p99/);
    expect(cell({})).toBe('—');
    // The figure itself stays a plain number either way (the compare view subtracts them).
    expect(summaryCell(SUMMARY_ROWS.find((r) => r.id === 'rtt_p99')!, DirectionSummarySchema.parse({ ...base, ...quads, percentiles: 'per_second_approx' }))).toBe('80.00');
  });

  it('shows RPM under load and says whether it is the draft\'s trimmed mean or the p50 stand-in', () => {
    const cells = (extra: object) => {
      const s = DirectionSummarySchema.parse({ ...base, ...quads, ...extra });
      return ['rpm', 'rpm_from'].map((id) => summaryCell(SUMMARY_ROWS.find((r) => r.id === id)!, s));
    };
    expect(cells({ responsiveness_rpm: 3078.55, responsiveness_from: 'trimmed_mean' })).toEqual(['3079', expect.stringMatching(/^trimmed mean of loaded round trips \(draft-ietf-ippm-responsiveness\)/)]);
    expect(cells({ responsiveness_rpm: 3000, responsiveness_from: 'p50_approx' })).toEqual(['3000', expect.stringMatching(/^approximation: 60000 \/ loaded RTT p50/)]);
    expect(cells({ responsiveness_rpm: null })).toEqual(['—', '—']);
  });
});
