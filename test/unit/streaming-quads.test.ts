import { describe, expect, it } from 'vitest';
import { createReceiver, recordProbe, recordRtt, takeReport } from '../../shared/stats/direction-stats.js';
import { createBaseline, pushBaselineWindow } from '../../shared/stats/baseline.js';
import { noExtremes, noteExtreme, quadInPlace, selectInPlace } from '../../shared/stats/select.js';
import { decodeWindowSketches, sketchPercentile } from '../../shared/stats/sketch.js';

/** The quad the way PROTOCOL defines it, written out here: sort a copy, take nearest ranks. */
function sortedQuad(xs: readonly number[]): number[] {
  if (xs.length === 0) return [0, 0, 0, 0];
  const s = [...xs].sort((a, b) => a - b);
  const at = (p: number) => s[Math.max(1, Math.ceil((p / 100) * s.length)) - 1]!;
  return [at(50), at(99), s[0]!, s.at(-1)!];
}

function streamedQuad(xs: readonly number[]): number[] {
  const e = noExtremes();
  for (const v of xs) noteExtreme(e, v);
  return quadInPlace([...xs], e);
}

describe('per-second quads by selection and streamed extremes', () => {
  it('gives the hand-computed nearest-rank quads of crafted windows', () => {
    expect(streamedQuad([5, 1, 4, 2, 3])).toEqual([3, 5, 1, 5]);
    expect(streamedQuad([2, 2, 2, 1, 1])).toEqual([2, 2, 1, 2]);
    expect(streamedQuad([7])).toEqual([7, 7, 7, 7]);
    expect(streamedQuad([])).toEqual([0, 0, 0, 0]);
    // 200 values, descending: p50 is the 100th smallest, p99 the 198th.
    expect(streamedQuad(Array.from({ length: 200 }, (_, i) => 200 - i))).toEqual([100, 198, 1, 200]);
    // 100 equal values and one outlier: p99 of 101 is the 100th smallest.
    expect(streamedQuad([...Array<number>(100).fill(0.25), 90])).toEqual([0.25, 0.25, 0.25, 90]);
    expect(streamedQuad([...Array<number>(100).fill(0.25), 90, 91])).toEqual([0.25, 90, 0.25, 91]);
  });

  it('equals the sorted-array quad on random windows of every size, ties and negatives included', () => {
    let seed = 7;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let n = 1; n <= 400; n++) {
      const xs = Array.from({ length: n }, () => (rand() < 0.3 ? Math.round(rand() * 5) : (rand() - 0.2) * 100));
      expect(streamedQuad(xs), `n=${n}`).toEqual(sortedQuad(xs));
    }
  });

  it('selects any rank the sort would give', () => {
    const xs = [9, 3, 3, 7, 1, 8, 3, 2, 6, 5];
    const sorted = [...xs].sort((a, b) => a - b);
    for (let k = 0; k < xs.length; k++) expect(selectInPlace([...xs], k)).toBe(sorted[k]);
  });

  it('takes the baseline as the window p5 (the minimum below 20 samples, the 2nd smallest of 40)', () => {
    const b = createBaseline(5);
    expect(pushBaselineWindow(b, [5, 3, 9, 4])).toBe(3);
    expect(pushBaselineWindow(createBaseline(5), Array.from({ length: 40 }, (_, i) => 40 - i))).toBe(2);
  });
});

describe('a window report from streamed statistics', () => {
  it('gives the hand-computed deviation, jitter and RTT quads of a crafted sequence', () => {
    const r = createReceiver({ lossTmaxMs: 500 });
    const delays = [5, 7, 6, 9, 5.5, 8, 30, 6.5, 7.5, 6];
    delays.forEach((d, seq) => recordProbe(r, seq, 1000 + 10 * seq, 1000 + 10 * seq + d));
    for (const rtt of [12, 10, -1, 11, 40]) recordRtt(r, rtt);
    const st = takeReport(r, 1200);
    // Baseline: min delay 5 (under 20 samples). Deviations sorted 0 0.5 1 1 1.5 2 2.5 3 4 25.
    expect(st.baseline_delay_ms).toBe(5);
    expect(st.delay_deviation_ms).toEqual([1.5, 25, 0, 25]);
    // |IPDV| of consecutive seqs sorted: 1 1 1.5 2 2.5 3 3.5 22 23.5.
    expect(st.jitter_ms).toEqual([2.5, 23.5, 1, 23.5]);
    // RTTs with the negative counted as 0: 0 10 11 12 40.
    expect(st.rtt_ms).toEqual([11, 40, 0, 40]);
    expect(st.rtt_clamped_count).toBe(1);
    // The sketches are of the same samples (within their 1 %).
    const sk = decodeWindowSketches(st.sketches!)!;
    expect(sk.delay.total).toBe(10);
    expect(Math.abs(sketchPercentile(sk.delay, 50) - 1.5)).toBeLessThanOrEqual(0.015);
    expect(Math.abs(sketchPercentile(sk.ipdv, 99) - 23.5)).toBeLessThanOrEqual(0.235);
    expect(Math.abs(sketchPercentile(sk.rtt, 50) - 11)).toBeLessThanOrEqual(0.11);
    // The next window starts empty: its extremes do not carry over.
    recordProbe(r, 10, 1100, 1106);
    recordProbe(r, 11, 1110, 1116.5);
    const next = takeReport(r, 1300);
    // Seq 10 pairs with seq 9 (delay 6 in the last window, |6 − 6| = 0) and seq 11 with 10 (0.5).
    expect(next.jitter_ms).toEqual([0, 0.5, 0, 0.5]);
    expect(next.delay_deviation_ms).toEqual([1, 1.5, 1, 1.5]);
  });
});
