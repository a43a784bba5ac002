import { describe, expect, it } from 'vitest';
import { createDirectionLine, createImpairer, type ImpairmentSpec } from '../../accuracy/impairment.js';
import { mulberry32, subSeed } from '../../accuracy/prng.js';

const spec = (over: Partial<ImpairmentSpec> = {}): ImpairmentSpec => ({ delayMs: 10, jitterMs: 3, lossPct: 1, reorderPct: 1, ...over });

describe('seeded PRNG', () => {
  it('repeats its sequence for a seed, differs between seeds, stays in [0, 1)', () => {
    const a = mulberry32(42);
    const b = mulberry32(42);
    const c = mulberry32(43);
    const xs = Array.from({ length: 1000 }, () => a());
    expect(Array.from({ length: 1000 }, () => b())).toEqual(xs);
    expect(Array.from({ length: 1000 }, () => c())).not.toEqual(xs);
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...xs)).toBeLessThan(1);
    const mean = xs.reduce((n, x) => n + x, 0) / xs.length;
    expect(mean).toBeGreaterThan(0.45);
    expect(mean).toBeLessThan(0.55);
  });

  it('gives each direction of a run its own sub-seed', () => {
    expect(subSeed(7, 0)).toBe(subSeed(7, 0));
    expect(subSeed(7, 0)).not.toBe(subSeed(7, 1));
    expect(subSeed(7, 0)).not.toBe(subSeed(8, 0));
  });
});

describe('impairment decisions', () => {
  it('are the same for the same seed and differ for another', () => {
    const run = (seed: number) => {
      const decide = createImpairer(spec({ lossPct: 5, reorderPct: 5 }), seed);
      return Array.from({ length: 5000 }, (_, i) => decide(i % 7 !== 0));
    };
    expect(run(1)).toEqual(run(1));
    expect(run(1)).not.toEqual(run(2));
  });

  it('hit their target rates over 100k decisions, and keep the delay within base ± jitter', () => {
    const n = 100_000;
    const decide = createImpairer(spec({ delayMs: 25, jitterMs: 10, lossPct: 3, reorderPct: 1 }), 12345);
    let drops = 0;
    let holds = 0;
    let delaySum = 0;
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < n; i++) {
      const d = decide(true);
      drops += Number(d.drop);
      holds += Number(d.hold);
      delaySum += d.delayMs;
      lo = Math.min(lo, d.delayMs);
      hi = Math.max(hi, d.delayMs);
      expect(d.drop && d.hold).toBe(false);
    }
    // Binomial standard deviations at n = 100k: 0.054 pp for 3 %, 0.031 pp for 1 %; allow about 4 of them.
    expect((drops / n) * 100).toBeGreaterThan(2.8);
    expect((drops / n) * 100).toBeLessThan(3.2);
    // A datagram is held only if it is not dropped: 1 % of 97 %.
    expect((holds / n) * 100).toBeGreaterThan(0.97 * 0.88);
    expect((holds / n) * 100).toBeLessThan(0.97 * 1.12);
    expect(delaySum / n).toBeGreaterThan(24.9);
    expect(delaySum / n).toBeLessThan(25.1);
    expect(lo).toBeGreaterThanOrEqual(15);
    expect(lo).toBeLessThan(15.01);
    expect(hi).toBeLessThanOrEqual(35);
    expect(hi).toBeGreaterThan(34.99);
  });

  it('never drop or hold a datagram that is not impairable, but still delay it', () => {
    const decide = createImpairer(spec({ lossPct: 100, reorderPct: 100 }), 9);
    for (let i = 0; i < 1000; i++) {
      const d = decide(false);
      expect(d.drop).toBe(false);
      expect(d.hold).toBe(false);
      expect(d.delayMs).toBeGreaterThanOrEqual(7);
      expect(d.delayMs).toBeLessThanOrEqual(13);
    }
    expect(decide(true).drop).toBe(true);
  });

  it('never give a negative delay', () => {
    const decide = createImpairer(spec({ delayMs: 1, jitterMs: 5, lossPct: 0, reorderPct: 0 }), 3);
    for (let i = 0; i < 1000; i++) expect(decide(true).delayMs).toBeGreaterThanOrEqual(0);
  });
});

/** Feeds `count` datagrams 10 ms apart through a line and returns their arrival indexes in departure order. */
function departures(line: ReturnType<typeof createDirectionLine<number>>, count: number, impairable = (_i: number) => true): number[] {
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    const t = i * 10;
    line.releaseStale(t);
    out.push(...line.takeDue(t));
    line.arrive(i, t, impairable(i));
  }
  line.releaseStale(Infinity);
  out.push(...line.takeDue(Infinity));
  return out;
}

/** RFC 4737: departures that come after one with a higher arrival index. */
function reorderedCount(order: number[]): number {
  let max = -1;
  let n = 0;
  for (const i of order) {
    if (i < max) n++;
    else max = i;
  }
  return n;
}

describe('direction line', () => {
  it('really swaps a held datagram with the next one', () => {
    // With reordering certain, every other datagram is held and overtaken by the next: 1 0 3 2 5 4 ...
    const line = createDirectionLine<number>(spec({ delayMs: 5, jitterMs: 0, lossPct: 0, reorderPct: 100 }), 1);
    expect(departures(line, 6)).toEqual([1, 0, 3, 2, 5, 4]);
  });

  it('lets only impairable datagrams overtake a held one, and releases a stale hold in place', () => {
    const line = createDirectionLine<number>(spec({ delayMs: 0, jitterMs: 0, lossPct: 0, reorderPct: 100 }), 1, 35);
    // 0 is held; 1..3 are not impairable and pass; 0 is released (stale) before 4 is held; 5 overtakes 4.
    expect(departures(line, 6, (i) => i === 0 || i >= 4)).toEqual([1, 2, 3, 0, 5, 4]);
  });

  it('keeps FIFO order under jitter: only holds reorder', () => {
    // 25 ± 10 ms on datagrams 10 ms apart would reorder by itself; the line must not.
    const line = createDirectionLine<number>(spec({ delayMs: 25, jitterMs: 10, lossPct: 0, reorderPct: 0 }), 5);
    const order = departures(line, 2000);
    expect(order).toEqual([...order].sort((a, b) => a - b));
    expect(order).toHaveLength(2000);
  });

  it('reorders as many datagrams as it held, drops what it decided to, and repeats itself for a seed', () => {
    const run = () => {
      const line = createDirectionLine<number>(spec({ delayMs: 10, jitterMs: 3, lossPct: 2, reorderPct: 2 }), 77);
      let held = 0;
      let dropped = 0;
      const out: number[] = [];
      for (let i = 0; i < 10_000; i++) {
        out.push(...line.takeDue(i * 10));
        const d = line.arrive(i, i * 10, true);
        held += Number(d.hold);
        dropped += Number(d.drop);
      }
      out.push(...line.takeDue(Infinity));
      return { out, held, dropped };
    };
    const a = run();
    expect(a.out).toHaveLength(10_000 - a.dropped);
    expect(reorderedCount(a.out)).toBe(a.held);
    expect(a.held).toBeGreaterThan(150);
    expect(a.dropped).toBeGreaterThan(150);
    expect(run()).toEqual(a);
  });
});

describe('bottleneck', () => {
  it('serialises at its rate and drops at the tail once the wait would exceed its queue', () => {
    // 8 Mbit/s: a 1000-byte datagram takes 1 ms to leave; a 3 ms queue.
    const line = createDirectionLine<number>({ delayMs: 5, jitterMs: 0, lossPct: 0, reorderPct: 0, rateMbps: 8, queueMs: 3 }, 1);
    const decisions = [0, 1, 2, 3, 4, 5].map((i) => line.arrive(i, 0, true, 1000));
    // Waits of 0, 1, 2, 3 ms; the fifth would wait 4 ms: dropped, and so is the sixth.
    expect(decisions.map((d) => d.queuedMs ?? null)).toEqual([0, 1, 2, 3, null, null]);
    expect(decisions.map((d) => d.tailDrop ?? false)).toEqual([false, false, false, false, true, true]);
    // Each leaves when its serialisation ends, plus the delay: 6, 7, 8, 9 ms.
    expect(line.takeDue(5.99)).toEqual([]);
    expect(line.takeDue(6)).toEqual([0]);
    expect(line.takeDue(9)).toEqual([1, 2, 3]);
    // Once the queue has drained, a datagram waits for nothing.
    expect(line.arrive(6, 10, true, 1000).queuedMs).toBe(0);
  });
});
