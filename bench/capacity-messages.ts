// The line protocol between the capacity bench and its worker processes: commands on stdin, one JSON object per stdout line.
import { z } from 'zod';
import { DirectionStatsSchema } from '../shared/protocol/stats.js';

/** The magic key the relay clients sign for: the bench puts it into the relays' database first (a relay takes only keys it holds). */
export const BENCH_KEY = 'bench';

/** The worker modes of bench/capacity-worker.ts and their arguments. */
export const CapacityArgsSchema = z.discriminatedUnion('mode', [
  /** Headless survey clients of a relay (the real client stack and protocol). */
  z.object({ mode: z.literal('relay-clients'), url: z.string(), relayId: z.string(), sessions: z.number().int().min(1) }),
  /** The bare node-datachannel echo (bench/bare-peer.ts): probe engine only, no stats store, no database. */
  z.object({ mode: z.literal('bare-server') }),
  z.object({ mode: z.literal('bare-clients'), url: z.string(), sessions: z.number().int().min(1) }),
]);
export type CapacityArgs = z.infer<typeof CapacityArgsSchema>;

/**
 * One per-second window a receiver closed: the session it belongs to (a
 * conn_id, or '' where the side does not tell sessions apart), when it reached
 * the worker (epoch ms), the direction its receiver measured, and its stats.
 */
export const WindowRecordSchema = z.object({
  session: z.string(),
  at: z.number(),
  direction: z.enum(['c2s', 's2c']),
  stats: DirectionStatsSchema,
});
export type WindowRecord = z.infer<typeof WindowRecordSchema>;

/** A sender's own running count of the probes it sent one way on a session, and when the worker read it (epoch ms). */
export const SentRecordSchema = z.object({
  session: z.string(),
  at: z.number(),
  direction: z.enum(['c2s', 's2c']),
  sent: z.number().int().min(0),
});
export type SentRecord = z.infer<typeof SentRecordSchema>;

/** What a worker reports once a second. */
export interface Records {
  windows: WindowRecord[];
  sent: SentRecord[];
}

/** The worker's own CPU time and RSS, read when the parent asked (`usage` on stdin), and its event-loop lag p99 since the last ask. */
export const UsageSchema = z.object({ at: z.number(), cpu_us: z.number().min(0), rss_bytes: z.number().min(0), lag_p99_ms: z.number().min(0).optional() });
export type Usage = z.infer<typeof UsageSchema>;

export const CapacityMessageSchema = z.discriminatedUnion('type', [
  /** Set-up done: every session is probing (a server also says where to reach it). */
  z.object({ type: z.literal('ready'), url: z.string().optional() }),
  z.object({ type: z.literal('records'), windows: z.array(WindowRecordSchema), sent: z.array(SentRecordSchema) }),
  z.object({ type: z.literal('usage'), usage: UsageSchema }),
  z.object({ type: z.literal('error'), message: z.string() }),
]);
export type CapacityMessage = z.infer<typeof CapacityMessageSchema>;

/** The commands a worker takes on stdin, one per line. */
export const CAPACITY_COMMANDS = { usage: 'usage', stop: 'stop' } as const;
