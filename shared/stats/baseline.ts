import { rankOf, selectInPlace } from './select.js';

/**
 * Running baseline of one-way delay: the minimum, over the last `seconds`
 * one-second windows, of each window's 5th-percentile delay. The low
 * percentile leaves single early outliers (clock glitches) out, the minimum
 * over windows ignores queueing spikes, and it follows a step down at the
 * next report and a step up once the old windows age out. Being a minimum
 * of differences it is indifferent to any constant clock offset.
 */
export interface BaselineState {
  seconds: number;
  windows: number[];
}

/** A baseline remembering `seconds` windows (default 5). */
export function createBaseline(seconds = 5): BaselineState {
  return { seconds, windows: [] };
}

/** Adds one window's delays (reordering them: found by selection, not a sort); returns the new baseline (or the old one if the window was empty). */
export function pushBaselineWindow(b: BaselineState, delays: number[]): number | null {
  if (delays.length > 0) {
    // Below 20 samples the 5th percentile is the minimum itself.
    b.windows.push(selectInPlace(delays, rankOf(delays.length, 5)));
    if (b.windows.length > b.seconds) b.windows.shift();
  }
  return currentBaseline(b);
}

/** The baseline now, or null before any delay was seen. */
export function currentBaseline(b: BaselineState): number | null {
  return b.windows.length ? Math.min(...b.windows) : null;
}
