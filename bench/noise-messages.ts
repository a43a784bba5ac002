// The line protocol between the noise bench and its worker processes: one JSON object per stdout line.
import { z } from 'zod';
import { windowCounts } from '../shared/stats/aggregate.js';
import type { DirectionStats } from '../shared/stats/direction-stats.js';

const QuadSchema = z.tuple([z.number(), z.number(), z.number(), z.number()]);

/** One session-direction-second: when its window closed (epoch ms) and the quads [p50, p99, min, max] it had data for. */
export const NoiseSampleSchema = z.object({
  at: z.number(),
  rtt: QuadSchema.optional(),
  dv: QuadSchema.optional(),
  ipdv: QuadSchema.optional(),
  /** Probes settled in the window and how many of them were lost (late ones included): a level that saturates the machine shows here. */
  expected: z.number().int().min(0).optional(),
  lost: z.number().int().min(0).optional(),
});
export type NoiseSample = z.infer<typeof NoiseSampleSchema>;

export const WorkerMessageSchema = z.discriminatedUnion('type', [
  /** Set-up done: every session is probing (servers also say where to reach them). */
  z.object({ type: z.literal('ready'), url: z.string().optional(), port: z.number().int().optional() }),
  z.object({ type: z.literal('samples'), samples: z.array(NoiseSampleSchema) }),
  /** Four times a second: the worker's CPU so far (µs) and the probes its sessions have received (from their windows' probe_count). */
  z.object({ type: z.literal('usage'), at: z.number(), cpu_us: z.number(), probes: z.number().int().min(0) }),
  z.object({ type: z.literal('error'), message: z.string() }),
]);
export type WorkerMessage = z.infer<typeof WorkerMessageSchema>;

/** The worker modes of bench/noise-worker.ts and their arguments. */
export const WorkerArgsSchema = z.discriminatedUnion('mode', [
  z.object({ mode: z.literal('relay-clients'), url: z.string(), relayId: z.string(), sessions: z.number().int().min(1) }),
  z.object({ mode: z.literal('bare-server') }),
  z.object({ mode: z.literal('bare-clients'), url: z.string(), sessions: z.number().int().min(1) }),
  z.object({ mode: z.literal('udp-echo') }),
  z.object({ mode: z.literal('udp-ping'), port: z.number().int(), sessions: z.number().int().min(1) }),
]);
export type WorkerArgs = z.infer<typeof WorkerArgsSchema>;

/** The figures one window of DirectionStats gives; null when it had no data (a quad with max 0 was never filled). */
export function sampleOf(s: DirectionStats, at = Date.now()): NoiseSample | null {
  const counts = windowCounts(s);
  const out: NoiseSample = { at, expected: counts.expected, lost: counts.lost };
  if (s.rtt_ms[3] > 0) out.rtt = s.rtt_ms;
  if (s.probe_count > 0 && s.delay_deviation_ms) out.dv = s.delay_deviation_ms;
  if (s.jitter_ms[3] > 0) out.ipdv = s.jitter_ms;
  return out.rtt || out.dv || out.ipdv || counts.expected > 0 ? out : null;
}
