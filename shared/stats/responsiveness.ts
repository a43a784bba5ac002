import { nearestRank } from './percentiles.js';
import { sketchValuesMs, type Sketch } from './sketch.js';

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
  const sorted = [...samples].sort((a, b) => a - b);
  return trimmedMeanOfCounts(sorted, sorted.map(() => 1), percent);
}

/** trimmedMean of samples given as ascending values with how often each occurs (a sketch's buckets); null for none. */
export function trimmedMeanOfCounts(values: readonly number[], counts: readonly number[], percent = TRIMMED_MEAN_PERCENT): number | null {
  const total = counts.reduce((n, c) => n + c, 0);
  if (total === 0) return null;
  const keep = Math.max(1, Math.ceil((percent / 100) * total));
  let left = keep;
  let sum = 0;
  for (let k = 0; k < values.length && left > 0; k++) {
    const take = Math.min(left, counts[k]!);
    sum += take * values[k]!;
    left -= take;
  }
  return sum / keep;
}

/** Round trips per minute from a trimmed mean of round trips (ms); null without one. */
export const rpmOf = (trimmedMeanMs: number | null): number | null => (trimmedMeanMs !== null && trimmedMeanMs > 0 ? 60_000 / trimmedMeanMs : null);

/**
 * How an RPM of stored seconds was found: `trimmed_mean`, the draft's, over the merged sketch of the loaded seconds'
 * round trips (within the sketch's 1 %); `p50_approx`, 60000 / loaded RTT p50, where a loaded second has no sketch.
 */
export type ResponsivenessFrom = 'trimmed_mean' | 'p50_approx';

/** RPM of stored seconds: from `loadedRtt`, the merged sketch of every loaded second's RTT (null when one lacks it), else from the loaded p50. */
export function storedResponsiveness(loadedRtt: Sketch | null, loadedRttP50: number): { responsiveness_rpm: number | null; responsiveness_from: ResponsivenessFrom | null } {
  const rpm = loadedRtt ? rpmOf(trimmedMeanOfCounts(sketchValuesMs(loadedRtt), loadedRtt.count)) : rpmOf(loadedRttP50 > 0 ? loadedRttP50 : null);
  return { responsiveness_rpm: rpm, responsiveness_from: rpm === null ? null : loadedRtt ? 'trimmed_mean' : 'p50_approx' };
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
    responsiveness_rpm: rpmOf(tm),
  };
}

function spread(samples: readonly number[]): RttSpread | null {
  if (samples.length === 0) return null;
  const sorted = [...samples].sort((a, b) => a - b);
  return { p50_ms: nearestRank(sorted, 50), p90_ms: nearestRank(sorted, 90), samples: sorted.length };
}
