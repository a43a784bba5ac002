import * as z from 'zod';
import { MAX_MESSAGE_BYTES } from './limits.js';
import { probeShape } from './probe-shape.js';

/** Largest probe text we parse (PROTOCOL's 4 KiB channel limit); real probes are ~300 bytes, ~1.3 KiB with a full set of echoes. */
export const MAX_PROBE_CHARS = MAX_MESSAGE_BYTES.probe;

export const DirectionSchema = z.enum(['c2s', 's2c']);
export type Direction = z.infer<typeof DirectionSchema>;

/**
 * A wall-clock time in ms since the epoch, from a clock we do not trust: any
 * plausible date (up to year 2286), so every difference of two stays finite.
 */
export const EpochMs = z.number().min(0).max(1e13);
/** A probe holds an echo for at most a few report intervals; more is not an echo. */
const HeldMs = z.number().min(0).max(60_000);
/** Echoes carried by one probe: enough to echo every probe received once after a burst, small enough to stay under MAX_PROBE_CHARS. */
export const MAX_ECHOES = 16;

export const ProbeFeedbackSchema = z.object({
  highest_seq: z.number().int().min(-1),
  highest_seq_received_at_ms: EpochMs,
  recent_count: z.number().int().min(0),
  recent_reorders: z.number().int().min(0),
});

export const ProbeEchoSchema = z.object({
  seq: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  sent_at_ms: EpochMs,
  held_ms: HeldMs,
});
export type ProbeEcho = z.infer<typeof ProbeEchoSchema>;

/** A send() duration in ms: a send that takes longer than a second is not a datagram leaving. */
const SendMs = z.number().min(0).max(1_000);

/**
 * How long the send() of this side's probe `seq` (the one before, which carried echoes) really took, and the
 * estimate its echoes' `held_ms` already counted: the receiver of those echoes corrects each sample by the
 * difference (optional; an older peer leaves it out and its echoes keep the estimate).
 */
export const ProbeSendReportSchema = z.object({
  seq: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  ms: SendMs,
  est_ms: SendMs,
});
export type ProbeSendReport = z.infer<typeof ProbeSendReportSchema>;

/** One probe on the `probe` channel (PROTOCOL.md §2). */
export const ProbePacketSchema = z.object({
  seq: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  sent_at_ms: EpochMs,
  direction: DirectionSchema,
  conn_id: z.string().min(1).max(64),
  feedback: ProbeFeedbackSchema.optional(),
  echo: ProbeEchoSchema.optional(),
  /** Every probe received since the last one sent, newest first, each echoed once (an `echo` beside it repeats the first; ours leave it out). */
  echoes: z.array(ProbeEchoSchema).max(MAX_ECHOES).optional(),
  send_ms: ProbeSendReportSchema.optional(),
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
  // A well-formed probe passes the fast shape check; anything else is for the schema to judge.
  const fast = probeShape(json);
  if (fast) return fast;
  const r = ProbePacketSchema.safeParse(json);
  return r.success ? r.data : null;
}
