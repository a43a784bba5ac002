// The requests the harness sends to the headless client's own process, and its replies.
import * as z from 'zod';

export const ClientRequestSchema = z.discriminatedUnion('op', [
  z.object({
    op: z.literal('start'),
    relay: z.object({ url: z.string().url(), relayId: z.string().min(1) }),
    forwarder: z.object({ ip: z.string(), port: z.number().int().min(1).max(65535) }),
    magicKey: z.string().min(1),
    /** Hold start_probe_streams back this long after the client's probes begin (a late start at the relay). */
    startStreamsDelayMs: z.number().int().min(0).max(10_000).optional(),
  }),
  z.object({ op: z.literal('stop') }),
  z.object({ op: z.literal('close') }),
]);
export type ClientRequest = z.infer<typeof ClientRequestSchema>;

/** `probesFromMs`: when the client's probes began (epoch ms, this machine's clock). */
export const ClientStartedSchema = z.object({ surveySessionId: z.string(), connIds: z.array(z.string()).min(1), probesFromMs: z.number() });
export const ClientStoppedSchema = z.object({ pcapAvailable: z.boolean(), errors: z.array(z.string()) });
