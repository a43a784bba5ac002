import { aggregateStats, splitByLoad } from '../shared/stats/aggregate.js';
import type { DirectionStats } from '../shared/stats/direction-stats.js';
import type { SurveyEvent } from './survey-client.js';

type StatsEvent = Extract<SurveyEvent, { type: 'stats' }>;

/** A whole survey (or any run of seconds), both directions, by counts; idle latency and latency under load apart. */
export interface SurveySummary {
  c2s: DirectionStats;
  s2c: DirectionStats;
  rtt_idle_ms: number;
  rtt_loaded_ms: number;
  /** Round trips per minute under load (60000 / loaded RTT p50); null without a throughput test. */
  responsiveness_rpm: number | null;
  /** Time this client could not keep its probe schedule. */
  own_paused_ms: number;
}

/** Summarises stats events: every relay window once (they arrive exactly once), every client window once. */
export function summarizeSurvey(events: readonly StatsEvent[]): SurveySummary {
  const c2s = events.flatMap((e) => (e.c2s ? [e.c2s] : []));
  const s2c = events.map((e) => e.s2c);
  const load = splitByLoad([...c2s, ...s2c]);
  return {
    c2s: aggregateStats(c2s),
    s2c: aggregateStats(s2c),
    rtt_idle_ms: load.idle.rtt_ms[0],
    rtt_loaded_ms: load.loaded.rtt_ms[0],
    responsiveness_rpm: load.responsiveness_rpm,
    own_paused_ms: events.reduce((n, e) => n + e.own_paused_ms, 0),
  };
}
