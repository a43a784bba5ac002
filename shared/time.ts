/** Wall-clock milliseconds since the Unix epoch with sub-millisecond precision (Date.now() is too coarse for loopback RTTs). */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}
