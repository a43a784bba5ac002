// A survey's summary per connection and direction as a table (and side by side when comparing).
import { h } from '../dom.js';
import type { DirectionSummary } from './survey-schemas.js';

const f = (v: number | null | undefined, digits = 2) => (v === null || v === undefined || !Number.isFinite(v) ? '—' : v.toFixed(digits));

/** The rows a summary table shows: label and how to read it from a direction's summary. */
export const SUMMARY_ROWS: { id: string; label: string; read: (s: DirectionSummary) => number | null | undefined; digits?: number }[] = [
  { id: 'loss', label: 'Loss %', read: (s) => s.loss_rate, digits: 3 },
  { id: 'lost', label: 'Probes lost / expected', read: () => null },
  { id: 'reorder', label: 'Reordering %', read: (s) => s.reorder_rate, digits: 3 },
  { id: 'rtt_p50', label: 'RTT p50 ms', read: (s) => s.rtt_ms?.p50 },
  { id: 'rtt_p99', label: 'RTT p99 ms', read: (s) => s.rtt_ms?.p99 },
  { id: 'rtt_idle', label: 'RTT p50 idle ms', read: (s) => s.idle?.rtt_ms?.p50 },
  { id: 'rtt_loaded', label: 'RTT p50 under load ms', read: (s) => s.loaded?.rtt_ms?.p50 },
  { id: 'delay_p50', label: 'Delay variation p50 ms', read: (s) => s.delay_deviation_ms?.p50 },
  { id: 'delay_p99', label: 'Delay variation p99 ms', read: (s) => s.delay_deviation_ms?.p99 },
  { id: 'jitter_p50', label: 'Jitter p50 ms', read: (s) => s.jitter_ms?.p50 },
  { id: 'jitter_p99', label: 'Jitter p99 ms', read: (s) => s.jitter_ms?.p99 },
  { id: 'throughput', label: 'Throughput Mbit/s (mean)', read: (s) => (s.throughput_bps ? s.throughput_bps.mean / 1e6 : null) },
  { id: 'rpm', label: 'Responsiveness RPM under load', read: (s) => s.responsiveness_rpm, digits: 0 },
  { id: 'rpm_from', label: 'RPM from', read: () => null },
  { id: 'silent', label: 'Seconds with no arrivals', read: (s) => s.seconds_without_arrivals, digits: 0 },
  { id: 'percentiles', label: 'p50 / p99 from', read: () => null },
];

/** Says where the survey's percentiles come from: an older survey's are approximate, and the table must not pass them off as merged. */
const PERCENTILES_FROM: Record<string, string> = {
  merged: 'merged per-second sketches',
  per_second_approx: 'approximation: median of per-second p50s, largest p99 (seconds without sketches)',
};

/** Says how the RPM was found: the draft's definition, or (an older survey) the figure that stands in for it. */
const RPM_FROM: Record<string, string> = {
  trimmed_mean: 'trimmed mean of loaded round trips (draft-ietf-ippm-responsiveness), from merged per-second sketches',
  p50_approx: 'approximation: 60000 / loaded RTT p50 (seconds without sketches)',
};

/** The cell text of one summary row for one direction. */
export function summaryCell(row: (typeof SUMMARY_ROWS)[number], s: DirectionSummary): string {
  if (row.id === 'lost') return `${s.probes_lost} / ${s.probes_expected}`;
  if (row.id === 'percentiles') return s.percentiles ? PERCENTILES_FROM[s.percentiles]! : '—';
  if (row.id === 'rpm_from') return s.responsiveness_from ? RPM_FROM[s.responsiveness_from]! : '—';
  return f(row.read(s), row.digits ?? 2);
}

/** One connection's table: both directions side by side. */
export function summaryTable(connId: string, c2s: DirectionSummary, s2c: DirectionSummary): HTMLTableElement {
  return h(
    'table',
    { class: 'summary', 'data-conn': connId },
    h('caption', {}, `Connection ${connId}`),
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, ''), h('th', { scope: 'col' }, 'Up (client → relay)'), h('th', { scope: 'col' }, 'Down (relay → client)'))),
    h(
      'tbody',
      {},
      ...SUMMARY_ROWS.map((r) =>
        h('tr', {}, h('th', { scope: 'row' }, r.label), h('td', { 'data-metric': r.id, 'data-dir': 'c2s' }, summaryCell(r, c2s)), h('td', { 'data-metric': r.id, 'data-dir': 's2c' }, summaryCell(r, s2c))),
      ),
    ),
  );
}
