import { describe, expect, it } from 'vitest';
import { responsiveness, storedResponsiveness, trimmedMean, trimmedMeanOfCounts } from '../../shared/stats/responsiveness.js';
import { sketchOf } from '../../shared/stats/sketch.js';

describe('responsiveness (draft-ietf-ippm-responsiveness-03 §4.3.1)', () => {
  it('is 60000 / the trimmed mean of the loaded round trips: the top 5 % dropped, the rest averaged', () => {
    // 95 round trips of 20 ms and 5 stalls of 1 s: the stalls are trimmed, 60000 / 20 ms = 3000 RPM.
    const loaded = [...Array<number>(95).fill(20), ...Array<number>(5).fill(1_000)];
    const r = responsiveness([0.5, 0.6, 0.7], loaded);
    expect(r.loaded_trimmed_mean_ms).toBe(20);
    expect(r.responsiveness_rpm).toBe(3000);
    // Not a median (10 ms, 6000 RPM): 50 at 10 ms and 50 at 30 ms keep 50 × 10 + 45 × 30 = 1850 ms over 95 samples.
    expect(responsiveness([], [...Array<number>(50).fill(10), ...Array<number>(50).fill(30)]).responsiveness_rpm).toBeCloseTo((60_000 * 95) / 1850, 9);
  });

  it('gives idle and loaded p50/p90 by nearest rank beside it', () => {
    const idle = Array.from({ length: 10 }, (_, i) => i + 1);
    const r = responsiveness(idle, [40, 10, 30, 20]);
    expect(r.idle).toEqual({ p50_ms: 5, p90_ms: 9, samples: 10 });
    expect(r.loaded).toEqual({ p50_ms: 20, p90_ms: 40, samples: 4 });
  });

  it('is null without loaded round trips', () => {
    expect(responsiveness([1, 2], [])).toEqual({ idle: { p50_ms: 1, p90_ms: 2, samples: 2 }, loaded: null, loaded_trimmed_mean_ms: null, responsiveness_rpm: null });
    expect(trimmedMean([])).toBeNull();
  });

  it('trims samples given by counts as it trims them one by one', () => {
    // 3 × 1, 2 × 2, 15 × 10 ms (20 samples): keep ⌈0.95 · 20⌉ = 19, i.e. 3 + 4 + 140 = 147 ms over 19.
    expect(trimmedMeanOfCounts([1, 2, 10], [3, 2, 15])).toBeCloseTo(147 / 19, 12);
    expect(trimmedMean([...Array<number>(3).fill(1), 2, 2, ...Array<number>(15).fill(10)])).toBeCloseTo(147 / 19, 12);
    expect(trimmedMeanOfCounts([], [])).toBeNull();
  });

  it("reads stored seconds' RPM from their merged RTT sketch, and says when it had only a p50", () => {
    // 0.1 and 0.25 ms are exact in the sketch (single-µs buckets): 60 × 0.1 and 40 × 0.25 keep 95, so
    // (6 + 35 × 0.25) / 95 = 14.75 / 95 ms and RPM = 60000 · 95 / 14.75.
    const sketch = sketchOf([...Array<number>(60).fill(0.1), ...Array<number>(40).fill(0.25)]);
    const r = storedResponsiveness(sketch, 0.1);
    expect(r.responsiveness_from).toBe('trimmed_mean');
    expect(r.responsiveness_rpm).toBeCloseTo((60_000 * 95) / 14.75, 6);
    expect(storedResponsiveness(null, 20)).toEqual({ responsiveness_rpm: 3000, responsiveness_from: 'p50_approx' });
    expect(storedResponsiveness(null, 0)).toEqual({ responsiveness_rpm: null, responsiveness_from: null });
    expect(storedResponsiveness(sketchOf([]), 0)).toEqual({ responsiveness_rpm: null, responsiveness_from: null });
  });
});
