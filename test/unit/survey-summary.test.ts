// A survey's per-connection summary from crafted metric rows, against values worked out by hand: counts summed, never rates averaged.
import { describe, expect, it } from 'vitest';
import { metricRowToStats, summarizeConnections } from '../../shared/db/survey-summary.js';

type Q = [number, number, number, number];

/** A survey_metrics row as the database returns it (shared/db/surveys.ts insertMetric's columns). */
function row(o: { conn?: string; source?: string; direction?: string; t: number; expected: number | null; received: number; loss: number; reorder?: number; rtt?: Q; delay?: Q; jitter?: Q; loaded?: number | null; tput?: number | null }) {
  const [rtt, delay, jitter] = [o.rtt ?? [0, 0, 0, 0], o.delay ?? [0, 0, 0, 0], o.jitter ?? [0, 0, 0, 0]];
  return {
    conn_id: o.conn ?? 'a',
    source: o.source ?? 'server',
    direction: o.direction ?? 'c2s',
    timestamp_ms: o.t,
    delay_p50_ms: delay[0], delay_p99_ms: delay[1], delay_min_ms: delay[2], delay_max_ms: delay[3],
    jitter_p50_ms: jitter[0], jitter_p99_ms: jitter[1], jitter_min_ms: jitter[2], jitter_max_ms: jitter[3],
    rtt_p50_ms: rtt[0], rtt_p99_ms: rtt[1], rtt_min_ms: rtt[2], rtt_max_ms: rtt[3],
    loss_rate: o.loss,
    reorder_rate: o.reorder ?? 0,
    probe_count: o.received,
    baseline_delay_ms: 1.5,
    probes_expected: o.expected,
    late_count: o.expected === null ? null : 0,
    sender_paused_ms: null,
    loaded: o.loaded === undefined ? 0 : o.loaded,
    throughput_bps: o.tput ?? null,
    loss_tmax_ms: 200,
  };
}

// Five seconds of c2s: 1 idle, 2 idle with no arrivals at all, 3 loaded, 4 idle, 5 loaded.
const C2S = [
  row({ t: 1000, expected: 100, received: 98, loss: 2, reorder: (1 / 98) * 100, rtt: [10, 20, 8, 25], delay: [0.5, 3, -1, 4], jitter: [0.2, 1, 0, 2] }),
  row({ t: 2000, expected: 100, received: 0, loss: 100 }),
  row({ t: 3000, expected: 100, received: 90, loss: 10, rtt: [30, 60, 20, 70], delay: [5, 12, 0, 15], jitter: [1, 4, 0, 6], loaded: 1, tput: 8e6 }),
  row({ t: 4000, expected: 100, received: 100, loss: 0, reorder: 2, rtt: [12, 22, 9, 30], delay: [0.4, 2, -0.5, 3], jitter: [0.3, 1.5, 0, 2.5] }),
  row({ t: 5000, expected: 100, received: 100, loss: 0, rtt: [40, 80, 30, 90], delay: [6, 14, 1, 16], jitter: [2, 5, 0, 7], loaded: 1, tput: 4e6 }),
];

describe('survey summary', () => {
  const [a, b] = summarizeConnections([
    ...C2S,
    // The client's own c2s (zeros) is not a measurement: only server/c2s and client/s2c count.
    row({ source: 'client', direction: 'c2s', t: 1000, expected: 0, received: 0, loss: 0 }),
    row({ source: 'client', direction: 's2c', t: 1000, expected: 50, received: 45, loss: 10, rtt: [11, 19, 9, 21] }),
    row({ conn: 'b', source: 'client', direction: 's2c', t: 1500, expected: 100, received: 100, loss: 0, rtt: [5, 6, 4, 7] }),
  ]);

  it('sums counts over the seconds: loss is Σ lost / Σ expected, a second with no arrivals counting all 100 it expected', () => {
    expect(a!.conn_id).toBe('a');
    expect(a!.c2s).toMatchObject({
      seconds: 5,
      first_ms: 1000,
      last_ms: 5000,
      probes_expected: 500,
      probes_received: 388,
      probes_lost: 112, // 2 + 100 + 10 + 0 + 0
      seconds_without_arrivals: 1,
      reordered: 3,
    });
    expect(a!.c2s.loss_rate).toBeCloseTo(22.4, 10); // 112 / 500; the mean of the rates would say 22.4 only by luck of equal seconds
    expect(a!.c2s.reorder_rate).toBeCloseTo((3 / 388) * 100, 10);
  });

  it('takes percentiles as aggregate.ts does: median of the seconds p50s, largest p99, min of mins, max of maxes', () => {
    // RTT p50s of the four seconds with echoes: 10, 30, 12, 40 → sorted 10, 12, 30, 40 → nearest-rank median 12.
    expect(a!.c2s.rtt_ms).toEqual({ p50: 12, p99: 80, min: 8, max: 90 });
    expect(a!.c2s.delay_deviation_ms).toEqual({ p50: 0.5, p99: 14, min: -1, max: 16 });
    expect(a!.c2s.jitter_ms).toEqual({ p50: 0.3, p99: 5, min: 0, max: 7 });
    expect(a!.c2s.throughput_bps).toEqual({ mean: 6e6, max: 8e6, seconds: 2 });
  });

  it('keeps idle and loaded seconds apart', () => {
    const { idle, loaded } = a!.c2s;
    expect(idle).toMatchObject({ seconds: 3, probes_expected: 300, probes_lost: 102, seconds_without_arrivals: 1, throughput_bps: null });
    expect(idle.loss_rate).toBeCloseTo(34, 10);
    expect(idle.rtt_ms).toEqual({ p50: 10, p99: 22, min: 8, max: 30 });
    expect(loaded).toMatchObject({ seconds: 2, probes_expected: 200, probes_lost: 10, loss_rate: 5 });
    expect(loaded.rtt_ms).toEqual({ p50: 30, p99: 80, min: 20, max: 90 });
    expect(a!.c2s.responsiveness_rpm).toBe(2000); // 60000 / 30
  });

  it('gives each connection both directions, an empty one with nulls and zeros', () => {
    expect(a!.s2c).toMatchObject({ seconds: 1, probes_expected: 50, probes_lost: 5, loss_rate: 10 });
    expect(a!.s2c.rtt_ms).toEqual({ p50: 11, p99: 19, min: 9, max: 21 });
    expect(b!.conn_id).toBe('b');
    expect(b!.c2s).toMatchObject({ seconds: 0, probes_expected: 0, loss_rate: 0, rtt_ms: null, delay_deviation_ms: null, jitter_ms: null, first_ms: null, responsiveness_rpm: null });
  });

  it('an older row without probes_expected recovers it from the rate (received / (1 − loss))', () => {
    const s = metricRowToStats(row({ t: 1, expected: null, received: 90, loss: 10, loaded: null }));
    expect(s.probes_expected).toBeUndefined();
    expect(s.loaded).toBeUndefined();
    const [c] = summarizeConnections([row({ t: 1, expected: null, received: 90, loss: 10 })]);
    expect(c!.c2s).toMatchObject({ probes_expected: 100, probes_lost: 10 });
  });
});
