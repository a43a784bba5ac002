import { nearestRank } from './percentiles.js';

/**
 * draft-ietf-ippm-responsiveness-03 §4.3.1 ("Aggregating the Measurements"):
 * samples are aggregated by a trimmed mean at the 95th percentile (TMP): the
 * samples above the 95th percentile are dropped, the rest averaged.
 */
export const TRIMMED_MEAN_PERCENT = 95;

/** Idle or loaded round trips of a probe connection, by nearest rank. */
export interface RttSpread {
  p50_ms: number;
  p90_ms: number;
  samples: number;
}

/** Responsiveness under load with the idle and loaded round trips beside it. */
export interface Responsiveness {
  idle: RttSpread | null;
  loaded: RttSpread | null;
  /** The trimmed mean of the loaded round trips (ms); null without any. */
  loaded_trimmed_mean_ms: number | null;
  /** Round trips per minute under load: 60000 / that trimmed mean; null without loaded round trips. */
  responsiveness_rpm: number | null;
}

/** The mean of the samples at or below the given percentile (nearest rank); null for no samples. */
export function trimmedMean(samples: readonly number[], percent = TRIMMED_MEAN_PERCENT): number | null {
  if (samples.length === 0) return null;
  const sorted = [...samples].sort((a, b) => a - b);
  const kept = sorted.slice(0, Math.max(1, Math.ceil((percent / 100) * sorted.length)));
  return kept.reduce((n, x) => n + x, 0) / kept.length;
}

/**
 * RPM from the probe connection's round trips taken in loaded seconds, as the
 * draft aggregates its probes: 60000 / trimmed mean. NetPoke's probes run on
 * a connection of their own, like the draft's probes on separate connections,
 * so there is one kind of sample and no weighting between kinds.
 */
export function responsiveness(idle: readonly number[], loaded: readonly number[]): Responsiveness {
  const tm = trimmedMean(loaded);
  return {
    idle: spread(idle),
    loaded: spread(loaded),
    loaded_trimmed_mean_ms: tm,
    responsiveness_rpm: tm !== null && tm > 0 ? 60_000 / tm : null,
  };
}

function spread(samples: readonly number[]): RttSpread | null {
  if (samples.length === 0) return null;
  const sorted = [...samples].sort((a, b) => a - b);
  return { p50_ms: nearestRank(sorted, 50), p90_ms: nearestRank(sorted, 90), samples: sorted.length };
}
