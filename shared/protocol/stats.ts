import * as z from 'zod';

const Quad = z.tuple([z.number(), z.number(), z.number(), z.number()]);

/** Per-direction stats of one second, PROTOCOL.md §2 (each quad is [p50, p99, min, max]). */
export const DirectionStatsSchema = z.object({
  delay_deviation_ms: Quad,
  rtt_ms: Quad,
  jitter_ms: Quad,
  loss_rate: z.number().min(0).max(100),
  reorder_rate: z.number().min(0).max(100),
  probe_count: z.number().int().min(0),
  baseline_delay_ms: z.number(),
  loss_tmax_ms: z.number().min(0).optional(),
});

/** Optional extension of `probe_stats`: bytes per second carried by the bulk channel each way. */
export const ThroughputSchema = z.object({
  c2s_bytes_per_s: z.number().min(0),
  s2c_bytes_per_s: z.number().min(0),
});
export type Throughput = z.infer<typeof ThroughputSchema>;
