import { describe, expect, it } from 'vitest';
import { bareLevelFigures } from '../../bench/capacity-figures.js';
import { loopLagMs, LOOP_SAMPLE_MS } from '../../relay/loop-lag.js';

describe('event-loop lag as the relay and the bare echo read it', () => {
  it('takes the sampling interval off a sample, in ms, never below 0', () => {
    expect(loopLagMs((LOOP_SAMPLE_MS + 2.5) * 1e6)).toBeCloseTo(2.5, 9);
    expect(loopLagMs((LOOP_SAMPLE_MS - 0.3) * 1e6)).toBe(0);
  });

  it("the bare echo's level carries the lag its worker reported at the span's end, and none when it reported none", () => {
    const start = { at: 0, cpu_us: 0, rss_bytes: 1, lag_p99_ms: 40 };
    const end = { at: 10_000, cpu_us: 2_000_000, rss_bytes: 1, lag_p99_ms: 6.5 };
    const f = bareLevelFigures(20, start, end, []);
    expect(f.lagP99Ms).toBe(6.5);
    expect(f.cpuMsPerSessionSecond).toBe(10);
    const { lag_p99_ms: _drop, ...old } = end;
    expect(bareLevelFigures(20, start, old, []).lagP99Ms).toBeUndefined();
  });
});
