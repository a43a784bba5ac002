/** `[p50, p99, min, max]`, the shape of every distribution in DirectionStats. */
export type Quad = [p50: number, p99: number, min: number, max: number];

/** The nearest-rank percentile (the smallest value with at least p % of values at or below it) of ascending `sorted`. */
export function nearestRank(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1]!;
}

/** The quad of `values` by nearest rank; zeros when empty. */
export function quad(values: readonly number[]): Quad {
  if (values.length === 0) return [0, 0, 0, 0];
  const sorted = [...values].sort((a, b) => a - b);
  return [nearestRank(sorted, 50), nearestRank(sorted, 99), sorted[0]!, sorted[sorted.length - 1]!];
}
