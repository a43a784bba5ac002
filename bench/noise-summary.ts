// Reduces a path's per-second samples to the noise-floor figures, and formats them side by side.
import { nearestRank } from '../shared/stats/percentiles.js';
import type { NoiseSample } from './noise-messages.js';

/** One path's noise figures over its steady seconds; null where it had no data. */
export interface NoiseFigures {
  /** Median over session-direction-seconds of each second's RTT p50. */
  rttP50: number | null;
  /** Median over session-direction-seconds of each second's RTT p99. */
  rttP99: number | null;
  /** Median and max over session-direction-seconds of each second's delay-variation p99. */
  dvP99Median: number | null;
  dvP99Max: number | null;
  /** Median over session-direction-seconds of each second's IPDV p99. */
  ipdvP99Median: number | null;
  /** Percent of the settled probes that were lost or late; null for a path that does not count them (UDP). */
  lossPct: number | null;
  /** Session-direction-seconds behind the figures (RTT, delay). */
  rttSeconds: number;
  delaySeconds: number;
  /** CPU µs per probe received over the steady window: the clients' processes, and the server's (the relay or the bare echo). */
  clientUsPerProbe?: number | null;
  serverUsPerProbe?: number | null;
  /** Why the path could not be measured at this level (e.g. set-up timed out on a saturated machine). */
  failed?: string;
}

function median(values: number[]): number | null {
  return values.length ? nearestRank(values.sort((a, b) => a - b), 50) : null;
}

/** The figures of one path from every sample it reported in its steady window. */
export function summarise(samples: readonly NoiseSample[]): NoiseFigures {
  const rtt = samples.flatMap((s) => (s.rtt ? [s.rtt] : []));
  const dv = samples.flatMap((s) => (s.dv ? [s.dv] : []));
  const ipdv = samples.flatMap((s) => (s.ipdv ? [s.ipdv] : []));
  const expected = samples.reduce((n, s) => n + (s.expected ?? 0), 0);
  return {
    rttP50: median(rtt.map((q) => q[0])),
    rttP99: median(rtt.map((q) => q[1])),
    dvP99Median: median(dv.map((q) => q[1])),
    dvP99Max: dv.length ? Math.max(...dv.map((q) => q[1])) : null,
    ipdvP99Median: median(ipdv.map((q) => q[1])),
    lossPct: expected > 0 ? (100 * samples.reduce((n, s) => n + (s.lost ?? 0), 0)) / expected : null,
    rttSeconds: rtt.length,
    delaySeconds: dv.length,
  };
}

/** Milliseconds with three decimals, or n/a. */
export function ms(v: number | null): string {
  return v === null ? 'n/a' : v.toFixed(3);
}

/** `a − b` with its sign and `a ÷ b`, or n/a when either is missing. */
export function diff(a: number | null, b: number | null, withRatio = true): string {
  if (a === null || b === null) return 'n/a';
  const d = a - b;
  const ratio = withRatio && b > 0 ? ` (×${(a / b).toFixed(2)})` : '';
  return `${d >= 0 ? '+' : '−'}${Math.abs(d).toFixed(3)}${ratio}`;
}
