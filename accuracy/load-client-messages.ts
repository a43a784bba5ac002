// The requests the harness sends to the loaded survey's client process, and what it reports back.
import * as z from 'zod';

const Address = z.object({ ip: z.string(), port: z.number().int().min(1).max(65535) });

export const LoadClientRequestSchema = z.discriminatedUnion('op', [
  z.object({
    op: z.literal('run'),
    relay: z.object({ url: z.string().url(), relayId: z.string().min(1) }),
    /** Where the probe connection and the load connection enter the forwarder. */
    forwarder: Address,
    loadForwarder: Address,
    magicKey: z.string().min(1),
    durationMs: z.number().int().positive(),
  }),
  z.object({ op: z.literal('close') }),
]);
export type LoadClientRequest = z.infer<typeof LoadClientRequestSchema>;

const Spread = z.object({ p50_ms: z.number(), p90_ms: z.number(), samples: z.number() }).nullable();

/** Each second's stats event, cut to what the load truth reads (see load-truth.ts). */
const LoadSecondSchema = z.object({
  timestamp_ms: z.number(),
  final: z.boolean().optional(),
  s2c: z.object({ loaded: z.boolean().optional() }),
  throughput: z.object({ s2c_bytes_per_s: z.number() }).optional(),
});

export const LoadClientResultSchema = z.object({
  stoppedBy: z.string(),
  throughputFailed: z.boolean(),
  errors: z.array(z.string()),
  seconds: z.array(LoadSecondSchema),
  responsiveness: z.object({ idle: Spread, loaded: Spread, loaded_trimmed_mean_ms: z.number().nullable(), responsiveness_rpm: z.number().nullable() }),
});
export type LoadClientResult = z.infer<typeof LoadClientResultSchema>;
