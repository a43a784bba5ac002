// One crafted second of DirectionStats whose samples are all one value, with (or without, as an older peer's) the
// sketches the sketch module builds of them: for tests that tell merged percentiles from the median of p50s.
import type { DirectionStats } from '../../shared/stats/direction-stats.js';
import { SKETCH_FORMAT, windowSketches } from '../../shared/stats/sketch.js';

/** `n` probes, all arrived, each with RTT `rttMs` and |IPDV| a tenth of it; sketches of them when `sketched`. */
export function sketchedSecond(n: number, rttMs: number, sketched = true): DirectionStats {
  const sk = windowSketches(Array<number>(n).fill(0.5), Array<number>(n).fill(rttMs / 10), Array<number>(n).fill(rttMs));
  if (sketched && !sk) throw new Error('sketch too large');
  return {
    delay_deviation_ms: [0.5, 0.5, 0.5, 0.5],
    rtt_ms: [rttMs, rttMs, rttMs, rttMs],
    jitter_ms: [rttMs / 10, rttMs / 10, rttMs / 10, rttMs / 10],
    loss_rate: 0,
    reorder_rate: 0,
    probe_count: n,
    baseline_delay_ms: 3,
    probes_expected: n,
    ...(sketched ? { sketches: sk, sketch_format: SKETCH_FORMAT } : {}),
  };
}

/** 5 seconds of 100 samples at 20 ms, then 6 of 3 samples at 80 ms: 500 of 518 samples at 20 ms (merged p50 20), but 6 of 11 seconds read 80 (median of p50s 80). */
export const mixedSeconds = (sketched = true): DirectionStats[] => [
  ...Array.from({ length: 5 }, () => sketchedSecond(100, 20, sketched)),
  ...Array.from({ length: 6 }, () => sketchedSecond(3, 80, sketched)),
];
