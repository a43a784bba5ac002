import * as z from 'zod';
import { MAX_SKETCH_CHARS } from '../stats/sketch.js';

/** A duration or delay difference in ms: finite and within a day either way (clocks are unsynchronised, not absurd). */
const Ms = z.number().min(-86_400_000).max(86_400_000);
const Quad = z.tuple([Ms, Ms, Ms, Ms]);
/** A count of probes in one window: at 100 probes/s, far above anything a second holds. */
const Count = z.number().int().min(0).max(1_000_000);
/** One encoded sketch: base64, bounded so three keep probe_stats well inside the 4 KiB control limit. */
const SketchText = z.string().min(1).max(MAX_SKETCH_CHARS).regex(/^[A-Za-z0-9+/]+={0,2}$/, 'base64');

/** Per-direction stats of one second, PROTOCOL.md §2 (each quad is [p50, p99, min, max]). */
export const DirectionStatsSchema = z.object({
  // Null (v3) before any unloaded window gave a baseline.
  delay_deviation_ms: Quad.nullable(),
  rtt_ms: Quad,
  jitter_ms: Quad,
  loss_rate: z.number().min(0).max(100),
  reorder_rate: z.number().min(0).max(100),
  probe_count: Count,
  baseline_delay_ms: Ms,
  loss_tmax_ms: z.number().min(0).max(60_000).optional(),
  probes_expected: Count.optional(),
  late_count: Count.optional(),
  sender_paused_ms: z.number().min(0).max(86_400_000).optional(),
  loaded: z.boolean().optional(),
  throughput_bps: z.number().min(0).max(1e12).optional(),
  rtt_clamped_count: Count.optional(),
  // v3: which window of the connection this is on the side that computed it, and that side's clock at its ends.
  window_index: z.number().int().min(0).max(100_000_000).optional(),
  window_start_ms: z.number().min(0).max(1e13).optional(),
  window_end_ms: z.number().min(0).max(1e13).optional(),
  lost_count: Count.optional(),
  /** v3: mergeable sketches of the window's delay deviation, |IPDV| and RTT samples (PROTOCOL.md §2), named by sketch_format. */
  sketches: z.object({ delay: SketchText, ipdv: SketchText, rtt: SketchText }).optional(),
  sketch_format: z.string().min(1).max(64).optional(),
});

/** Optional extension of `probe_stats`: bytes per second carried by the bulk channel each way. */
export const ThroughputSchema = z.object({
  c2s_bytes_per_s: z.number().min(0).max(1e11),
  s2c_bytes_per_s: z.number().min(0).max(1e11),
});
export type Throughput = z.infer<typeof ThroughputSchema>;
