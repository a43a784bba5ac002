import * as z from 'zod';

/** Largest probe text we parse; real probes are ~300 bytes. */
export const MAX_PROBE_CHARS = 2048;

export const DirectionSchema = z.enum(['c2s', 's2c']);
export type Direction = z.infer<typeof DirectionSchema>;

const finiteMs = z.number().refine(Number.isFinite, 'expected a finite number');

export const ProbeFeedbackSchema = z.object({
  highest_seq: z.number().int().min(-1),
  highest_seq_received_at_ms: finiteMs,
  recent_count: z.number().int().min(0),
  recent_reorders: z.number().int().min(0),
});

export const ProbeEchoSchema = z.object({
  seq: z.number().int().min(0),
  sent_at_ms: finiteMs,
  held_ms: z.number().min(0),
});
export type ProbeEcho = z.infer<typeof ProbeEchoSchema>;

/** One probe on the `probe` channel (PROTOCOL.md §2). */
export const ProbePacketSchema = z.object({
  seq: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  sent_at_ms: finiteMs,
  direction: DirectionSchema,
  conn_id: z.string().min(1).max(64),
  feedback: ProbeFeedbackSchema.optional(),
  echo: ProbeEchoSchema.optional(),
});
export type ProbePacket = z.infer<typeof ProbePacketSchema>;

/** Parses probe text; returns null for anything malformed (bad probes are dropped, never answered). */
export function parseProbe(text: unknown): ProbePacket | null {
  if (typeof text !== 'string' || text.length > MAX_PROBE_CHARS) return null;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return null;
  }
  const r = ProbePacketSchema.safeParse(json);
  return r.success ? r.data : null;
}
