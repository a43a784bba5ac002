import { describe, expect, it } from 'vitest';
import {
  aggregateStats,
  splitByLoad,
  windowCounts,
  createReceiver,
  emptyDirectionStats,
  nearestRank,
  quad,
  recordProbe,
  recordRtt,
  rttFromEcho,
  takeReport,
  type DirectionStats,
  type ReceiverState,
} from '../../shared/stats/index.js';

const T0 = 1_764_000_000_000;
const sentAt = (seq: number) => T0 + seq * 10;

/** Delivers `seqs` in the given order, probe seq sent at T0 + 10·seq, arriving after `delay(seq)` + `offset`. */
function deliver(s: ReceiverState, seqs: number[], delay: (seq: number) => number = () => 20, offset = 0): void {
  for (const seq of seqs) recordProbe(s, seq, sentAt(seq), sentAt(seq) + delay(seq) + offset);
}
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

describe('percentiles', () => {
  it('uses nearest rank', () => {
    expect(nearestRank([1, 2, 3, 4], 50)).toBe(2);
    expect(nearestRank([1, 2, 3, 4], 99)).toBe(4);
    expect(nearestRank(range(1, 101), 99)).toBe(99);
    expect(nearestRank(range(1, 101), 50)).toBe(50);
    expect(nearestRank([7], 5)).toBe(7);
    expect(quad([5, 1, 3])).toEqual([3, 5, 1, 5]);
    expect(quad([])).toEqual([0, 0, 0, 0]);
  });
});

describe('receiver stats on crafted sequences', () => {
  it('no loss: 100 probes at constant delay', () => {
    const s = createReceiver();
    deliver(s, range(0, 100));
    // Every probe is due by sentAt(99)+20, so settle all 100 (Tmax later).
    const r = takeReport(s, sentAt(99) + 20 + 500);
    expect(r).toEqual({
      delay_deviation_ms: [0, 0, 0, 0],
      rtt_ms: [0, 0, 0, 0],
      jitter_ms: [0, 0, 0, 0],
      loss_rate: 0,
      reorder_rate: 0,
      probe_count: 100,
      baseline_delay_ms: 20,
      loss_tmax_ms: 500,
      probes_expected: 100,
      lost_count: 0,
      late_count: 0,
      rtt_clamped_count: 0,
      sender_paused_ms: 0,
      loaded: false,
      // The receiver's first window; no start was opened in this test, so only its end is known.
      window_index: 0,
      window_end_ms: sentAt(99) + 20 + 500,
      sketch_format: 'hdr-histogram-js-3-b64',
      sketches: { delay: expect.any(String), ipdv: expect.any(String), rtt: expect.any(String) },
    });
  });

  it('10 % loss: every 10th probe missing', () => {
    const s = createReceiver();
    deliver(s, range(0, 100).filter((q) => q % 10 !== 3));
    const r = takeReport(s, sentAt(99) + 20 + 500);
    expect(r.probe_count).toBe(90);
    expect(r.loss_rate).toBeCloseTo(10, 10);
    expect(r.reorder_rate).toBe(0);
    // Jitter still compares consecutive arrivals: constant delay, no jitter.
    expect(r.jitter_ms).toEqual([0, 0, 0, 0]);
  });

  it('counts probes as lost only once Tmax has passed, in the report where they settle', () => {
    const s = createReceiver({ lossTmaxMs: 500 });
    deliver(s, range(0, 50));
    // Probes 50..99 are never received: a tail burst lost at the end.
    const now1 = sentAt(49) + 20 + 100; // only 10 intervals past the last arrival: 50..59 expected, none overdue by 500 ms
    const r1 = takeReport(s, now1);
    expect(r1.probe_count).toBe(50);
    // Probes up to seq 49 + floor((now1 - 500 - arrival49)/10) = 49 - 40 = 9 settle: 0..9, none lost.
    expect(r1.loss_rate).toBe(0);
    const now2 = sentAt(99) + 20 + 500; // every one of 50..99 is overdue by ≥ Tmax
    const r2 = takeReport(s, now2, { senderStopped: false });
    // Settles 10..99: 40 received, 50 lost.
    expect(r2.probe_count).toBe(0);
    expect(r2.loss_rate).toBeCloseTo((50 / 90) * 100, 10);
  });

  it('does not count a stopped sender’s missing future as loss', () => {
    const s = createReceiver();
    deliver(s, range(0, 100));
    const r = takeReport(s, sentAt(99) + 20 + 5_000, { senderStopped: true });
    expect(r.loss_rate).toBe(0);
    const again = takeReport(s, sentAt(99) + 20 + 10_000, { senderStopped: true });
    expect(again.loss_rate).toBe(0);
  });

  it('reordering: a probe swapped with its neighbour is reordered, not lost', () => {
    const s = createReceiver();
    const order = range(0, 100);
    [order[40], order[41]] = [order[41]!, order[40]!];
    deliver(s, order);
    const r = takeReport(s, sentAt(99) + 20 + 500);
    expect(r.probe_count).toBe(100);
    expect(r.reorder_rate).toBeCloseTo(1, 10);
    expect(r.loss_rate).toBe(0);
  });

  it('a probe later than Tmax is lost when it settles, and late when it finally arrives: still lost, its delay unused', () => {
    const s = createReceiver({ lossTmaxMs: 100 });
    deliver(s, range(0, 100).filter((q) => q !== 30));
    const r1 = takeReport(s, sentAt(99) + 20 + 100);
    expect(r1.loss_rate).toBeCloseTo(1, 10);
    expect(r1.probes_expected).toBe(100);
    expect(recordProbe(s, 30, sentAt(30), sentAt(99) + 500)).toBe('late');
    const r2 = takeReport(s, sentAt(99) + 600, { senderStopped: true });
    expect(r2).toMatchObject({ probe_count: 0, late_count: 1, reorder_rate: 0, loss_rate: 0, probes_expected: 0 });
    // Its delay (≈ 200 ms) is not a sample: RFC 7680 treats it as never arrived.
    expect(r2.delay_deviation_ms).toEqual([0, 0, 0, 0]);
    // A second copy of the late probe is a duplicate now.
    expect(recordProbe(s, 30, sentAt(30), sentAt(99) + 700)).toBe('duplicate');
  });

  it('a probe late by less than Tmax is reordered and never lost', () => {
    const s = createReceiver({ lossTmaxMs: 500 });
    deliver(s, range(0, 60).filter((q) => q !== 20));
    expect(recordProbe(s, 20, sentAt(20), sentAt(59) + 25)).toBe('reordered');
    const r = takeReport(s, sentAt(59) + 20 + 500);
    expect(r.loss_rate).toBe(0);
    expect(r.probe_count).toBe(60);
    expect(r.reorder_rate).toBeCloseTo((1 / 60) * 100, 10);
  });

  it('duplicates count once and change neither loss nor reordering', () => {
    const s = createReceiver();
    const seqs = range(0, 100);
    deliver(s, seqs);
    expect(recordProbe(s, 50, sentAt(50), sentAt(50) + 21)).toBe('duplicate');
    expect(recordProbe(s, 99, sentAt(99), sentAt(99) + 22)).toBe('duplicate');
    const r = takeReport(s, sentAt(99) + 20 + 500);
    expect(r.probe_count).toBe(100);
    expect(r.loss_rate).toBe(0);
    expect(r.reorder_rate).toBe(0);
    expect(r.jitter_ms).toEqual([0, 0, 0, 0]);
  });

  it('ignores a probe whose seq jumps implausibly far ahead', () => {
    const s = createReceiver();
    deliver(s, range(0, 100));
    expect(recordProbe(s, 1_000_000, sentAt(100), sentAt(100) + 20)).toBe('implausible');
    expect(recordProbe(createReceiver(), 999_999, 0, 20)).toBe('implausible');
    const r = takeReport(s, sentAt(99) + 20 + 500);
    expect(r.probe_count).toBe(100);
    expect(r.loss_rate).toBe(0);
  });

  it('is indifferent to a clock offset of ±5 s except for the baseline, which shifts by exactly the offset', () => {
    const delay = (q: number) => 20 + (q % 7) * 0.5; // some variation
    const results = [0, 5_000, -5_000].map((offset) => {
      const s = createReceiver();
      deliver(s, range(0, 100), delay, offset);
      return takeReport(s, sentAt(99) + offset + 20 + 500 + 10);
    });
    const [zero, ahead, behind] = results as [DirectionStats, DirectionStats, DirectionStats];
    for (const other of [ahead, behind]) {
      expect(other.delay_deviation_ms).toEqual(zero.delay_deviation_ms);
      expect(other.jitter_ms).toEqual(zero.jitter_ms);
      expect(other.probe_count).toBe(zero.probe_count);
    }
    expect(ahead.baseline_delay_ms - zero.baseline_delay_ms).toBeCloseTo(5_000, 9);
    expect(behind.baseline_delay_ms - zero.baseline_delay_ms).toBeCloseTo(-5_000, 9);
    expect(zero.baseline_delay_ms).toBe(20);
    expect(zero.delay_deviation_ms).toEqual([1.5, 3, 0, 3]);
    expect(zero.jitter_ms[3]).toBe(3);
  });

  it('follows a delay step: deviation shows a step up until the baseline adapts, a step down at once', () => {
    const s = createReceiver({ baselineSeconds: 3 });
    const reports: DirectionStats[] = [];
    let seq = 0;
    const second = (delay: number) => {
      deliver(s, range(seq, seq + 100), () => delay);
      seq += 100;
      reports.push(takeReport(s, sentAt(seq - 1) + delay + 500));
    };
    second(20);
    second(20);
    second(50); // step up by 30 ms
    expect(reports[2]!.delay_deviation_ms).toEqual([30, 30, 30, 30]);
    expect(reports[2]!.baseline_delay_ms).toBe(20);
    // The step was a jump between consecutive probes once.
    expect(reports[2]!.jitter_ms[3]).toBe(30);
    second(50);
    second(50); // 3 windows of 50: the baseline has followed
    expect(reports[4]!.baseline_delay_ms).toBe(50);
    expect(reports[4]!.delay_deviation_ms).toEqual([0, 0, 0, 0]);
    second(10); // step down: the baseline follows in the same report
    expect(reports[5]!.baseline_delay_ms).toBe(10);
    expect(reports[5]!.delay_deviation_ms).toEqual([0, 0, 0, 0]);
  });

  it('leaves a single spike out of the baseline', () => {
    const s = createReceiver();
    deliver(s, range(0, 100), (q) => (q === 50 ? 400 : q === 60 ? -100 : 20));
    const r = takeReport(s, sentAt(99) + 520);
    expect(r.baseline_delay_ms).toBe(20);
    expect(r.delay_deviation_ms?.[3]).toBe(380);
    expect(r.delay_deviation_ms?.[2]).toBe(-120);
  });

  it('reports RTT quads from the samples of the window only; a negative sample counts as 0, NaN not at all', () => {
    const s = createReceiver();
    for (const v of [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]) recordRtt(s, v);
    recordRtt(s, -1);
    recordRtt(s, Number.NaN);
    expect(takeReport(s, T0)).toMatchObject({ rtt_ms: [5, 10, 0, 10], rtt_clamped_count: 1 });
    expect(takeReport(s, T0 + 1000).rtt_ms).toEqual([0, 0, 0, 0]);
  });

  it('computes RTT from an echo without clock sync', () => {
    expect(rttFromEcho(1000.75, { sent_at_ms: 990, held_ms: 3.25 })).toBeCloseTo(7.5, 10);
    expect(rttFromEcho(1000, { sent_at_ms: 999, held_ms: 5 })).toBeNull();
  });

  it('settles each probe in exactly one report over many seconds with 10 % random loss', () => {
    let seed = 7;
    const rnd = () => ((seed = (seed * 48271) % 2147483647) / 2147483647);
    const s = createReceiver();
    let lostSent = 0;
    let lostCounted = 0;
    let settledTotal = 0;
    for (let sec = 0; sec < 10; sec++) {
      // Counting starts at the stream's first arrival: seq 0 arrives.
      const seqs = range(sec * 100, sec * 100 + 100).filter((q) => {
        const keep = q === 0 || rnd() >= 0.1;
        if (!keep) lostSent++;
        return keep;
      });
      deliver(s, seqs);
      const now = sentAt(sec * 100 + 99) + 20 + 1;
      const before = s.settledUpTo;
      const r = takeReport(s, now);
      const settled = s.settledUpTo - before;
      settledTotal += settled;
      lostCounted += Math.round((r.loss_rate / 100) * settled);
    }
    const final = takeReport(s, sentAt(999) + 20 + 1000, { senderStopped: true });
    const before = settledTotal;
    settledTotal = s.settledUpTo;
    lostCounted += Math.round((final.loss_rate / 100) * (settledTotal - before));
    expect(settledTotal).toBe(1000);
    expect(lostCounted).toBe(lostSent);
  });
});

describe('aggregateStats', () => {
  const sec = (p: Partial<DirectionStats>): DirectionStats => ({ ...emptyDirectionStats(), ...p });

  it('merges per-second stats by counts; quads conservatively', () => {
    const a = sec({ delay_deviation_ms: [1, 5, 0, 6], rtt_ms: [2, 3, 1, 4], jitter_ms: [0.5, 1, 0, 2], loss_rate: 0, reorder_rate: 2, probe_count: 100, probes_expected: 100, baseline_delay_ms: 10 });
    const b = sec({ delay_deviation_ms: [3, 9, -1, 12], rtt_ms: [4, 8, 2, 9], jitter_ms: [1, 3, 0, 4], loss_rate: 10, reorder_rate: 0, probe_count: 90, probes_expected: 100, baseline_delay_ms: 11, loaded: true });
    const c = sec({ delay_deviation_ms: [2, 4, 0, 5], rtt_ms: [3, 5, 1, 6], jitter_ms: [0.7, 2, 0, 3], loss_rate: 0, reorder_rate: 0, probe_count: 50, probes_expected: 50, baseline_delay_ms: 12, late_count: 1, sender_paused_ms: 500 });
    const empty = sec({ probe_count: 0, probes_expected: 0, baseline_delay_ms: 13 });
    expect(aggregateStats([a, b, c, empty])).toEqual({
      delay_deviation_ms: [2, 9, -1, 12],
      rtt_ms: [3, 8, 1, 9],
      jitter_ms: [0.7, 3, 0, 4],
      loss_rate: (10 / 250) * 100,
      reorder_rate: (2 / 240) * 100,
      probe_count: 240,
      baseline_delay_ms: 12,
      probes_expected: 250,
      lost_count: 10,
      late_count: 1,
      sender_paused_ms: 500,
      loaded: true,
      percentiles: 'per_second_approx',
    });
  });

  it('counts an outage: 5 s with nothing arriving out of 10 s is 50 % loss, not 0 %', () => {
    const ok = sec({ probe_count: 100, probes_expected: 100, loss_rate: 0 });
    const out = sec({ probe_count: 0, probes_expected: 100, loss_rate: 100 });
    expect(aggregateStats([ok, ok, ok, ok, ok, out, out, out, out, out]).loss_rate).toBe(50);
    expect(aggregateStats([out, out]).loss_rate).toBe(100);
    expect(aggregateStats([out, out]).probes_expected).toBe(200);
  });

  it('recovers the counts of an older peer’s stats without probes_expected', () => {
    const old = sec({ probe_count: 90, loss_rate: 10 });
    expect(windowCounts(old)).toEqual({ lost: 10, expected: 100, received: 90, reordered: 0, late: 0, pausedMs: 0 });
  });

  it('splits idle latency from latency under load, with responsiveness in round trips per minute', () => {
    const idle = sec({ rtt_ms: [20, 25, 19, 30], probe_count: 100, probes_expected: 100 });
    const loaded = sec({ rtt_ms: [80, 120, 60, 150], probe_count: 100, probes_expected: 100, loaded: true });
    const split = splitByLoad([idle, loaded, idle, loaded]);
    expect(split.idle.rtt_ms[0]).toBe(20);
    expect(split.loaded.rtt_ms[0]).toBe(80);
    expect(split.responsiveness_rpm).toBe(750);
    expect(splitByLoad([idle]).responsiveness_rpm).toBeNull();
  });

  it('is empty for no data', () => {
    expect(aggregateStats([])).toEqual(emptyDirectionStats());
  });
});
