import { aggregateStats } from '../shared/stats/aggregate.js';
import type { DirectionStats } from '../shared/stats/direction-stats.js';
import type { Responsiveness } from '../shared/stats/responsiveness.js';
import type { SurveyEvent } from './survey-client.js';

type StatsEvent = Extract<SurveyEvent, { type: 'stats' }>;

/** A whole survey (or any run of seconds), both directions, by counts; idle latency and latency under load apart. */
export interface SurveySummary {
  c2s: DirectionStats;
  s2c: DirectionStats;
  /** This client's round trips in unloaded and in loaded seconds (p50/p90 of the samples); null without any. */
  rtt_idle_ms: { p50: number; p90: number } | null;
  rtt_loaded_ms: { p50: number; p90: number } | null;
  /** Round trips per minute under load (draft-ietf-ippm-responsiveness: 60000 / trimmed mean of loaded round trips); null without a throughput test. */
  responsiveness_rpm: number | null;
  /** Time this client could not keep its probe schedule. */
  own_paused_ms: number;
}

/** Summarises stats events (every relay window once, every client window once, `relayOnly`: relay windows without a client one) with the client's responsiveness. */
export function summarizeSurvey(events: readonly StatsEvent[], resp: Responsiveness, relayOnly: readonly DirectionStats[] = []): SurveySummary {
  const c2s = [...events.flatMap((e) => (e.c2s ? [e.c2s] : [])), ...relayOnly];
  const s2c = events.map((e) => e.s2c);
  const spread = (s: Responsiveness['idle']) => (s ? { p50: s.p50_ms, p90: s.p90_ms } : null);
  return {
    c2s: aggregateStats(c2s),
    s2c: aggregateStats(s2c),
    rtt_idle_ms: spread(resp.idle),
    rtt_loaded_ms: spread(resp.loaded),
    responsiveness_rpm: resp.responsiveness_rpm,
    own_paused_ms: events.reduce((n, e) => n + e.own_paused_ms, 0),
  };
}
