import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

/** How often the event-loop monitor samples: every sample is this interval plus the lag. */
export const LOOP_SAMPLE_MS = 10;

/** A running event-loop delay monitor (node:perf_hooks), sampling every LOOP_SAMPLE_MS. */
export function startLoopMonitor(): IntervalHistogram {
  const h = monitorEventLoopDelay({ resolution: LOOP_SAMPLE_MS });
  h.enable();
  return h;
}

/** A sample of the monitor (ns) as lag alone, in ms: the sampling interval taken off, never below 0. */
export function loopLagMs(ns: number): number {
  return Math.max(0, ns / 1e6 - LOOP_SAMPLE_MS);
}
