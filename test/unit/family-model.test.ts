import { describe, expect, it } from 'vitest';
import { addLateRelayWindow, addWindow, badness, createFamilyModel, familyFigures, familySeries, pathFigures, SEAL_AFTER } from '../../page/family-model.js';
import { emptyDirectionStats, type DirectionStats } from '../../shared/stats/index.js';
import { worstPath } from '../../shared/stats/worst-path.js';
import { mixedSeconds, sketchedSecond } from '../helpers/sketched-second.js';

/** A crafted window: expected and lost probes, RTT [p50, p99]. */
function win(expected: number, lost: number, rtt: [number, number] = [1, 2]): DirectionStats {
  return {
    ...emptyDirectionStats(),
    probes_expected: expected,
    lost_count: lost,
    loss_rate: (lost / expected) * 100,
    probe_count: expected - lost,
    rtt_ms: [rtt[0], rtt[1], rtt[0], rtt[1]],
    jitter_ms: [0.1, 0.2, 0, 0.3],
  };
}

const ev = (conn_id: string, family: 'ipv4' | 'ipv6', path_index: number, window_index: number, c2s: DirectionStats | null, s2c: DirectionStats, own_paused_ms = 0) => ({
  conn_id,
  family,
  path_index,
  window_index,
  c2s,
  s2c,
  own_paused_ms,
});

describe('page family model', () => {
  it('sums a family by counts over its paths and seconds, keeps families apart, and a path line is its own', () => {
    const m = createFamilyModel();
    // IPv4: path 0 loses 0 of 100 twice, path 1 loses 10 of 100 then 30 of 100 down; up is clean but for one late relay window.
    addWindow(m, ev('a', 'ipv4', 0, 0, win(100, 0), win(100, 0)));
    addWindow(m, ev('a', 'ipv4', 0, 1, win(100, 0), win(100, 0)));
    addWindow(m, ev('b', 'ipv4', 1, 0, win(100, 0), win(100, 10), 12));
    addWindow(m, ev('b', 'ipv4', 1, 1, null, win(100, 30), 8));
    expect(addLateRelayWindow(m, 'b', 1, win(100, 4))).toBe(true);
    expect(addLateRelayWindow(m, 'b', 7, win(100, 4))).toBe(false);
    addWindow(m, ev('c', 'ipv6', 0, 0, win(50, 5), win(50, 1)));

    const v4 = familyFigures(m, 'ipv4');
    expect(v4.s2c.loss_rate).toBeCloseTo((40 / 400) * 100, 9);
    expect(v4.c2s.loss_rate).toBeCloseTo((4 / 400) * 100, 9);
    expect(v4.s2c.probe_count).toBe(360);
    const v6 = familyFigures(m, 'ipv6');
    expect(v6.c2s.loss_rate).toBeCloseTo(10, 9);
    expect(v6.s2c.loss_rate).toBeCloseTo(2, 9);

    const b = m.paths.get('b')!;
    expect(pathFigures(b).s2c.loss_rate).toBeCloseTo(20, 9);
    expect(b.paused_ms).toBe(20);

    // Second 1 of IPv4: 30 of 200 lost down over both paths; path 1 alone: 30 of 100.
    const line = familySeries(m, 'ipv4');
    expect(line.map((s) => s.index)).toEqual([0, 1]);
    expect(line[1]!.f.s2c.loss_rate).toBeCloseTo(15, 9);
    expect(familySeries(m, 'ipv4', 1)[1]!.f.s2c.loss_rate).toBeCloseTo(30, 9);
    expect(familySeries(m, 'ipv6').map((s) => s.index)).toEqual([0]);
  });

  it('reads a path\'s and a family\'s p50 from the merged sketches (20 ms, where the median of p50s reads 80), a late relay window included', () => {
    const m = createFamilyModel();
    mixedSeconds().forEach((w, i) => addWindow(m, ev('a', 'ipv4', 0, i, i === 0 ? sketchedSecond(50, 20) : w, w)));
    // Window 0's relay side comes in two parts: 50 + 50 samples at 20 ms, kept as one window with its sketches.
    expect(addLateRelayWindow(m, 'a', 0, sketchedSecond(50, 20))).toBe(true);
    mixedSeconds(false).forEach((w, i) => addWindow(m, ev('b', 'ipv6', 0, i, w, w)));
    for (const d of ['c2s', 's2c'] as const) {
      const a = pathFigures(m.paths.get('a')!)[d];
      expect(a.percentiles).toBe('merged');
      // 518 samples: rank 259 among the 500 at 20 ms, rank 513 among the 18 at 80 ms; within the sketches' 1 %.
      expect(Math.abs(a.rtt_ms[0] - 20) / 20).toBeLessThanOrEqual(0.01);
      expect(Math.abs(a.rtt_ms[1] - 80) / 80).toBeLessThanOrEqual(0.01);
      expect(Math.abs(a.jitter_ms[0] - 2) / 2).toBeLessThanOrEqual(0.01);
      expect(familyFigures(m, 'ipv4')[d].percentiles).toBe('merged');
      // Without sketches (an older peer): the median of the 11 seconds' p50s, and it says so.
      expect(familyFigures(m, 'ipv6')[d]).toMatchObject({ percentiles: 'per_second_approx', rtt_ms: [80, 80, 20, 80] });
    }
  });

  it('picks the worst path by loss, then RTT p99; none with one path or a tie', () => {
    expect(worstPath([{ id: 'a', loss_rate: 0, rtt_p99_ms: 9 }])).toBeNull();
    expect(worstPath([{ id: 'a', loss_rate: 1, rtt_p99_ms: 2 }, { id: 'b', loss_rate: 1, rtt_p99_ms: 2 }])).toBeNull();
    expect(worstPath([{ id: 'a', loss_rate: 0.5, rtt_p99_ms: 1 }, { id: 'b', loss_rate: 2, rtt_p99_ms: 1 }, { id: 'c', loss_rate: 0, rtt_p99_ms: 50 }])).toBe('b');
    expect(worstPath([{ id: 'a', loss_rate: 0, rtt_p99_ms: 3 }, { id: 'b', loss_rate: 0, rtt_p99_ms: 7 }])).toBe('b');
    // The worse direction counts: up loss 3 % beats down loss 2 %.
    const f = (up: number, down: number) => ({ c2s: win(100, up), s2c: win(100, down) });
    expect(badness('x', f(3, 2))).toEqual({ id: 'x', loss_rate: 3, rtt_p99_ms: 2 });
  });

  // A long survey: what the tables show each second must not merge every window again (it grew with the survey and
  // stalled the page's main thread, where its own probes are timestamped), and must still cover every second.
  it('covers the whole survey, past the 600 seconds the charts keep, and late relay windows of sealed seconds', () => {
    const m = createFamilyModel();
    // 700 seconds: 100 probes down each, every 7th losing 10; up: the relay's window of every 5th comes late.
    const late: number[] = [];
    for (let i = 0; i < 700; i++) {
      const down = i % 7 === 0 ? win(100, 10, [20, 30]) : win(100, 0, [20, 30]);
      addWindow(m, ev('a', 'ipv4', 0, i, i % 5 === 0 ? null : win(100, 1, [20, 30]), down));
      // Late by 1 second, or (every 50th) by 40, after its second was sealed.
      if (i % 5 === 0 && i % 50 !== 0) late.push(i);
      if (i >= 40 && (i - 40) % 50 === 0) expect(addLateRelayWindow(m, 'a', i - 40, win(100, 2, [20, 30]))).toBe(true);
      while (late.length && late[0]! <= i - 1) expect(addLateRelayWindow(m, 'a', late.shift()!, win(100, 2, [20, 30]))).toBe(true);
    }
    const f = familyFigures(m, 'ipv4');
    // Counted from outside: 700 × 100 expected down, 100 seconds (0, 7, …, 693) losing 10 each.
    expect(f.s2c.probes_expected).toBe(70_000);
    expect(f.s2c.lost_count).toBe(1_000);
    // Up: 560 windows losing 1 on time; 140 late (every 5th: 126 a second late, the last, 695's, at 696; 14 forty
    // seconds late, 650's at 690), each losing 2.
    expect(f.c2s.probes_expected).toBe(70_000);
    expect(f.c2s.lost_count).toBe(560 + 140 * 2);
    expect(pathFigures(m.paths.get('a')!).s2c).toEqual(f.s2c);
    // The charts keep 600 seconds.
    expect(familySeries(m, 'ipv4').length).toBe(600);
  });

  it('merges sealed seconds by their sketches: the survey p50 and p99 are those of every sample', () => {
    const m = createFamilyModel();
    // 100 seconds: the first 90 of 100 samples at 20 ms, the last 10 of 100 at 80 ms: p50 20, p99 80.
    for (let i = 0; i < 100; i++) addWindow(m, ev('a', 'ipv4', 0, i, sketchedSecond(100, i < 90 ? 20 : 80), sketchedSecond(100, i < 90 ? 20 : 80)));
    expect(m.paths.get('a')!.sealedBelow).toBe(99 - SEAL_AFTER);
    const f = pathFigures(m.paths.get('a')!);
    for (const d of [f.c2s, f.s2c]) {
      expect(d.percentiles).toBe('merged');
      expect(d.probe_count).toBe(10_000);
      expect(d.rtt_ms[0]).toBeCloseTo(20, 0);
      expect(d.rtt_ms[1]).toBeCloseTo(80, 0);
    }
  });

  it("computes a chart line's second once, and again when a late relay window changes it", () => {
    const m = createFamilyModel();
    addWindow(m, ev('a', 'ipv4', 0, 0, null, win(100, 0)));
    addWindow(m, ev('a', 'ipv4', 0, 1, win(100, 0), win(100, 0)));
    const first = familySeries(m, 'ipv4');
    const again = familySeries(m, 'ipv4');
    expect(again[0]!.f).toBe(first[0]!.f);
    expect(again[1]!.f).toBe(first[1]!.f);
    expect(addLateRelayWindow(m, 'a', 0, win(100, 5))).toBe(true);
    const after = familySeries(m, 'ipv4');
    expect(after[0]!.f).not.toBe(first[0]!.f);
    expect(after[0]!.f.c2s.lost_count).toBe(5);
    expect(after[1]!.f).toBe(first[1]!.f);
  });
});
