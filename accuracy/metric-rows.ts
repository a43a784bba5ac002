// NetPoke's side of the comparison: a survey's survey_metrics rows, back as DirectionStats and aggregated by counts.
import type { Client } from '@libsql/client';
import * as z from 'zod';
import { aggregateStats } from '../shared/stats/aggregate.js';
import type { DirectionStats } from '../shared/stats/direction-stats.js';
import { metricRowToStats } from '../shared/db/survey-summary.js';

const num = z.number();
const opt = z.number().nullable().optional();
const MetricRowSchema = z.object({
  source: z.enum(['server', 'client']),
  direction: z.enum(['c2s', 's2c']),
  delay_p50_ms: num.nullable(),
  delay_p99_ms: num.nullable(),
  delay_min_ms: num.nullable(),
  delay_max_ms: num.nullable(),
  jitter_p50_ms: num,
  jitter_p99_ms: num,
  jitter_min_ms: num,
  jitter_max_ms: num,
  rtt_p50_ms: num,
  rtt_p99_ms: num,
  rtt_min_ms: num,
  rtt_max_ms: num,
  loss_rate: num,
  reorder_rate: num,
  probe_count: num,
  baseline_delay_ms: num,
  probes_expected: opt,
  late_count: opt,
  loss_tmax_ms: opt,
  sender_paused_ms: opt,
  lost_count: opt,
  window_index: opt,
  // The seconds' sketches (migration 25), so the survey's percentiles are merged from them as the console's are.
  delay_sketch: z.string().nullable().optional(),
  ipdv_sketch: z.string().nullable().optional(),
  rtt_sketch: z.string().nullable().optional(),
  sketch_format: z.string().nullable().optional(),
});
type MetricRow = z.infer<typeof MetricRowSchema>;

export interface MeasuredDirection {
  rows: number;
  stats: DirectionStats;
  /** Reordered probes: Σ reorder_rate × probe_count over the rows. */
  reordered: number;
}

/** What NetPoke recorded for a survey: c2s as the relay measured it, s2c as the client measured and reported it. */
export async function measuredBySurvey(db: Client, surveyId: string): Promise<Record<'c2s' | 's2c', MeasuredDirection> & { rttP50: number; rttP99: number }> {
  const rs = await db.execute({ sql: 'SELECT * FROM survey_metrics WHERE session_id = ? ORDER BY id', args: [surveyId] });
  const rows = rs.rows.map((r) => MetricRowSchema.parse({ ...r }));
  const pick = (source: MetricRow['source'], direction: MetricRow['direction']): MeasuredDirection => {
    const list = rows.filter((r) => r.source === source && r.direction === direction).map(metricRowToStats);
    const stats = aggregateStats(list);
    return { rows: list.length, stats, reordered: Math.round((stats.reorder_rate / 100) * stats.probe_count) };
  };
  // The round trip is one quantity, measured from both ends: the survey's RTT p50/p99 take every row's seconds.
  const [rttP50, rttP99] = aggregateStats(rows.map(metricRowToStats)).rtt_ms;
  return { c2s: pick('server', 'c2s'), s2c: pick('client', 's2c'), rttP50, rttP99 };
}
