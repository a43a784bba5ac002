// The CLI's per-path table (client/path-summary.ts) reads p50/p99 from the seconds' merged sketches: crafted
// seconds whose merged p50 (20 ms) differs from the median of their p50s (80 ms), and a path without sketches.
import { describe, expect, it } from 'vitest';
import { summarizePaths } from '../../client/path-summary.js';
import type { StatsEvent } from '../../cli/run-probe.js';
import type { DirectionStats } from '../../shared/stats/direction-stats.js';
import { mixedSeconds } from '../helpers/sketched-second.js';

const events = (conn_id: string, path_index: number, seconds: DirectionStats[]): StatsEvent[] =>
  seconds.map((w, window_index) => ({ type: 'stats', conn_id, family: 'ipv4', path_index, timestamp_ms: 1000 * window_index, window_index, c2s: w, s2c: w, own_paused_ms: 0 }));

describe('CLI per-path summary', () => {
  it('merges sketches per path, and falls back (saying so) where seconds have none', () => {
    const [sketched, old] = summarizePaths([...events('a', 0, mixedSeconds()), ...events('b', 1, mixedSeconds(false))]);
    for (const d of ['c2s', 's2c'] as const) {
      expect(sketched![d].percentiles).toBe('merged');
      expect(Math.abs(sketched![d].rtt_ms[0] - 20) / 20).toBeLessThanOrEqual(0.01);
      expect(Math.abs(sketched![d].rtt_ms[1] - 80) / 80).toBeLessThanOrEqual(0.01);
      expect(old![d]).toMatchObject({ percentiles: 'per_second_approx', rtt_ms: [80, 80, 20, 80] });
    }
  });
});
