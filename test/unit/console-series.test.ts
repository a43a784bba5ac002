// The console's chart data from crafted metric rows: gaps stay gaps, series per connection and direction, loaded spans.
import { describe, expect, it } from 'vitest';
import { chartData, loadedSpans, METRICS, rowNear, seriesKeys, type MetricRow } from '../../page/console/surveys/metric-series.js';

const T0 = 1_700_000_000_000;
const row = (s: number, over: Partial<MetricRow> = {}): MetricRow => ({
  timestamp_ms: T0 + s * 1000,
  source: 'server',
  conn_id: 'a',
  direction: 'c2s',
  delay_p50_ms: s,
  delay_p99_ms: 2 * s,
  jitter_p50_ms: 0.5,
  rtt_p50_ms: 20,
  rtt_p99_ms: 30,
  loss_rate: 0,
  reorder_rate: 0,
  throughput_bps: null,
  loaded: 0,
  probe_count: 100,
  ...over,
});
const metric = (id: string) => METRICS.find((m) => m.id === id)!;

describe('console chart data', () => {
  it('places rows by window_index, not by the rounded write time: no gaps, no doubles, both sides of an index share a second', () => {
    // Relay (c2s) rows written at uneven times (each window closes on the second, its write lags by 0.01–0.52 s):
    // index 2 at 3.52 s and index 3 at 4.49 s round to the same second, index 4 at 5.51 s leaves second 5 empty.
    // Client (s2c) rows reach the relay about 0.3 s after the relay's own of the same index.
    const c2sAt = [1.02, 2.01, 3.52, 4.49, 5.51];
    const s2cAt = [1.31, 2.3, 3.3, 4.32, 5.29];
    const rows = [
      ...c2sAt.map((at, i) => row(at, { window_index: i, delay_p50_ms: 10 + i })),
      ...s2cAt.map((at, i) => row(at, { window_index: i, source: 'client', direction: 's2c', delay_p50_ms: 20 + i })),
    ];
    // By rounding, indexes 2 and 3 of c2s would both be second 4, second 3 and 5 empty: what this guards against.
    expect(c2sAt.map((at) => Math.round(at))).toEqual([1, 2, 4, 4, 6]);
    const d = chartData(rows, metric('delay_p50'), T0);
    // Anchor: the connection's earliest (time − index) is 2.01 s − 1 = 1.01 s, so indexes 0..4 stand at seconds 1..5.
    expect(d.xs).toEqual([1, 2, 3, 4, 5]);
    expect(d.series.find((s) => s.key.direction === 'c2s')!.values).toEqual([10, 11, 12, 13, 14]);
    expect(d.series.find((s) => s.key.direction === 's2c')!.values).toEqual([20, 21, 22, 23, 24]);
  });

  it('puts a null at every second without a row, so a gap is drawn as a gap', () => {
    const d = chartData([row(1), row(2), row(5)], metric('delay_p50'), T0);
    expect(d.xs).toEqual([1, 2, 3, 4, 5]);
    expect(d.series[0]!.values).toEqual([1, 2, null, null, 5]);
  });

  it('keeps one series per connection and direction, and ignores rows that relay the other side\'s numbers', () => {
    const rows = [row(1), row(1, { conn_id: 'b' }), row(1, { source: 'client', direction: 's2c', delay_p50_ms: 7 }), row(1, { source: 'server', direction: 's2c', delay_p50_ms: 99 })];
    expect(seriesKeys(rows)).toEqual([
      { conn_id: 'a', direction: 'c2s' },
      { conn_id: 'a', direction: 's2c' },
      { conn_id: 'b', direction: 'c2s' },
    ]);
    const d = chartData(rows, metric('delay_p50'), T0);
    expect(d.series.map((s) => s.values[0])).toEqual([1, 7, 1]);
  });

  it('reads no delay from a second in which nothing arrived, but keeps its loss', () => {
    const d = chartData([row(1, { probe_count: 0, delay_p50_ms: 0, loss_rate: 100 })], metric('delay_p50'), T0);
    expect(d.series[0]!.values).toEqual([null]);
    expect(chartData([row(1, { probe_count: 0, loss_rate: 100 })], metric('loss'), T0).series[0]!.values).toEqual([100]);
  });

  it('joins consecutive loaded seconds into spans', () => {
    expect(loadedSpans([3, 4, 5, 9, 10, 4])).toEqual([
      [2, 5],
      [8, 10],
    ]);
    const d = chartData([row(1), row(2, { loaded: 1 }), row(3, { loaded: 1 }), row(4)], metric('rtt_p50'), T0);
    expect(d.loaded).toEqual([[1, 3]]);
  });

  it('places buckets of a downsampled answer a bucket apart: a missing bucket is a gap, consecutive loaded buckets one span', () => {
    const d = chartData([row(10), row(60, { loaded: 1 }), row(110, { loaded: 1 }), row(210)], metric('delay_p50'), T0, undefined, 50);
    expect(d.xs).toEqual([10, 60, 110, 160, 210]);
    expect(d.series[0]!.values).toEqual([10, 60, 110, null, 210]);
    expect(d.loaded).toEqual([[10, 110]]);
  });

  it('converts throughput to Mbit/s and finds the row nearest a moment', () => {
    expect(chartData([row(1, { throughput_bps: 25e6 })], metric('throughput'), T0).series[0]!.values).toEqual([25]);
    const rows = [row(1), row(2), row(3)];
    expect(rowNear(rows, T0 + 2400, 'c2s')?.timestamp_ms).toBe(T0 + 2000);
    expect(rowNear(rows, T0 + 9000, 'c2s')).toBeNull();
    expect(rowNear(rows, T0 + 2000, 's2c')).toBeNull();
  });
});
