// A crafted closed second for summary tests: one probe arrived (so it has data) and the given RTT samples were taken.
import { createReceiver, recordProbe, recordRtt, takeReport, type DirectionStats } from '../../shared/stats/index.js';

/** One second's stats whose RTT samples are `rttsMs`, carrying its sketches as a current peer's do. */
export function rttSecond(rttsMs: readonly number[], loaded = false): DirectionStats {
  const r = createReceiver();
  recordProbe(r, 0, 0, 5);
  for (const v of rttsMs) recordRtt(r, v);
  return takeReport(r, 1_000, { loaded });
}

/** The same second as an older peer sends it: no sketches. */
export function withoutSketches(s: DirectionStats): DirectionStats {
  const { sketches: _s, sketch_format: _f, ...rest } = s;
  return rest;
}
