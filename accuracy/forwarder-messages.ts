// The requests the harness sends to the forwarder's own process, and the shape of its log coming back.
import * as z from 'zod';

const Spec = z.object({
  delayMs: z.number().min(0),
  jitterMs: z.number().min(0),
  lossPct: z.number().min(0).max(100),
  reorderPct: z.number().min(0).max(100),
  rateMbps: z.number().positive().optional(),
  queueMs: z.number().min(0).optional(),
});

export const ForwarderRequestSchema = z.discriminatedUnion('op', [
  z.object({
    op: z.literal('start'),
    config: z.object({ relayPort: z.number().int().min(1).max(65535), loadRelayPort: z.number().int().min(1).max(65535).optional(), c2s: Spec, s2c: Spec, seed: z.number().int(), smallBelow: z.number().int().optional() }),
  }),
  z.object({ op: z.literal('arm'), on: z.boolean() }),
  z.object({ op: z.literal('log') }),
  z.object({ op: z.literal('close') }),
]);
export type ForwarderRequest = z.infer<typeof ForwarderRequestSchema>;

const RecordSchema = z.object({
  i: z.number(),
  atMs: z.number(),
  size: z.number(),
  kind: z.enum(['stun', 'dtls-handshake', 'dtls-app', 'dtls-app-small', 'other']),
  armed: z.boolean(),
  impairable: z.boolean(),
  dropped: z.boolean(),
  tailDropped: z.boolean().optional(),
  queuedMs: z.number().optional(),
  load: z.boolean().optional(),
  held: z.boolean(),
  sentAtMs: z.number().nullable(),
  out: z.number().nullable(),
});

export const ForwarderLogSchema = z.object({
  c2s: z.array(RecordSchema),
  s2c: z.array(RecordSchema),
  port: z.number(),
  upstreams: z.array(z.object({ client: z.string(), port: z.number() })),
  foreign: z.number(),
  timeOriginMs: z.number().optional(),
});

export const ForwarderStartedSchema = z.object({ port: z.number().int(), loadPort: z.number().int().optional() });
