// Per-second quantiles without sorting the second's samples: nearest-rank order statistics by selection
// (Hoare's quickselect, expected linear time) on the window's own array, which is thrown away afterwards.
import type { Quad } from './percentiles.js';

/** Min and max of a window's samples, kept as they arrive. */
export interface Extremes {
  min: number;
  max: number;
}

/** Extremes of no samples yet. */
export function noExtremes(): Extremes {
  return { min: Infinity, max: -Infinity };
}

/** Widens `e` to take `v`. */
export function noteExtreme(e: Extremes, v: number): void {
  if (v < e.min) e.min = v;
  if (v > e.max) e.max = v;
}

/** The 0-based rank of the nearest-rank p-th percentile among n values. */
export function rankOf(n: number, p: number): number {
  return Math.min(n, Math.max(1, Math.ceil((p / 100) * n))) - 1;
}

/**
 * The k-th smallest (0-based) of `xs[lo..hi]`, reordering that range so every value before k is ≤ it and every
 * value after is ≥ it (so a later selection of a higher rank may start at k).
 */
export function selectInPlace(xs: number[], k: number, lo = 0, hi = xs.length - 1): number {
  while (hi > lo) {
    // Median of three as the pivot: sorted or constant windows (common: idle links) stay linear.
    const mid = (lo + hi) >>> 1;
    const a = xs[lo]!;
    const b = xs[mid]!;
    const c = xs[hi]!;
    const pivot = a < b ? (b < c ? b : a < c ? c : a) : a < c ? a : b < c ? c : b;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (xs[i]! < pivot) i++;
      while (xs[j]! > pivot) j--;
      if (i <= j) {
        const t = xs[i]!;
        xs[i] = xs[j]!;
        xs[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return xs[k]!;
  }
  return xs[k]!;
}

/** `[p50, p99, min, max]` by nearest rank, as percentiles.ts `quad` gives it, found by selection; reorders `xs`. Zeros when empty. */
export function quadInPlace(xs: number[], e: Extremes): Quad {
  const n = xs.length;
  if (n === 0) return [0, 0, 0, 0];
  const k50 = rankOf(n, 50);
  const p50 = selectInPlace(xs, k50);
  const p99 = selectInPlace(xs, rankOf(n, 99), k50);
  return [p50, p99, e.min, e.max];
}
