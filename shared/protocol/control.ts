import * as z from 'zod';
import { describeZodError } from './errors.js';
import { MAX_MESSAGE_BYTES } from './limits.js';
import { EpochMs } from './probe.js';
import { DirectionStatsSchema, ThroughputSchema } from './stats.js';

/** Largest control text we parse (PROTOCOL's 4 KiB channel limit): a probe_stats message is well under 2 KiB. */
export const MAX_CONTROL_CHARS = MAX_MESSAGE_BYTES.control;

const ids = {
  survey_session_id: z.uuid(),
  conn_id: z.string().min(1).max(64),
};

const simple = <T extends string>(type: T) => z.object({ type: z.literal(type), ...ids });

export const StartSurveySessionSchema = simple('start_survey_session');
export const ServerSideReadySchema = simple('server_side_ready');
export const GetMeasuringTimeSchema = simple('get_measuring_time');
export const MeasuringTimeResponseSchema = z.object({
  type: z.literal('measuring_time_response'),
  ...ids,
  max_duration_ms: z.number().min(0),
});
export const StartProbeStreamsSchema = simple('start_probe_streams');
export const StopProbeStreamsSchema = simple('stop_probe_streams');
export const StartServerTrafficSchema = simple('start_server_traffic');
export const StopServerTrafficSchema = simple('stop_server_traffic');
export const ThroughputDirectionSchema = z.enum(['download', 'upload', 'both']);
export type ThroughputDirection = z.infer<typeof ThroughputDirectionSchema>;
/** Longest throughput test one start_throughput asks for; the relay also holds it to the measuring time left. */
export const MAX_THROUGHPUT_MS = 3_600_000;
/**
 * v3: the client asks for a throughput test on a load connection of its own.
 * The SDP exchange of that connection rides along on the control channel:
 * `sdp` is the client's offer without candidate lines (the relay never uses
 * them, see relay/peer.ts), `throughput_ready` carries the relay's answer.
 */
export const StartThroughputSchema = z.object({
  type: z.literal('start_throughput'),
  ...ids,
  direction: ThroughputDirectionSchema,
  duration_ms: z.number().int().min(1_000).max(MAX_THROUGHPUT_MS),
  sdp: z.string().min(1).max(3_500),
});
export const ThroughputReadySchema = z.object({
  type: z.literal('throughput_ready'),
  ...ids,
  sdp: z.string().min(1),
  /** What the relay granted: the measuring time left may shorten the test. */
  duration_ms: z.number().int().min(0),
});
export const StopThroughputSchema = simple('stop_throughput');
export const ProbeStatsSchema = z.object({
  type: z.literal('probe_stats'),
  ...ids,
  timestamp_ms: EpochMs,
  c2s_stats: DirectionStatsSchema,
  s2c_stats: DirectionStatsSchema,
  throughput: ThroughputSchema.optional(),
});
export const StopSurveySessionSchema = simple('stop_survey_session');
/** What a probe sender says of its own stream, once a second and once when it stops (PROTOCOL.md §2). */
export const SenderReportSchema = z.object({
  type: z.literal('sender_report'),
  ...ids,
  timestamp_ms: EpochMs,
  last_seq: z.number().int().min(-1).max(Number.MAX_SAFE_INTEGER),
  sent: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  paused_ms: z.number().min(0).max(1e12),
  /** Optional (v3): the sender's stream has stopped; this is its last report until it starts again. */
  final: z.boolean().optional(),
});
export const SurveySessionStoppedSchema = z.object({
  type: z.literal('survey_session_stopped'),
  ...ids,
  pcap_available: z.boolean(),
});
/** The client asks for a path trace of its own connection now (v3); it names nothing: the relay traces only the connection's own peer. */
export const RequestPathTraceSchema = simple('request_path_trace');
/** One hop of a path trace: the responding address (null: none answered), RTT [p50, max] and the share of its probes unanswered. */
export const PathHopSchema = z.object({
  ttl: z.number().int().min(1).max(64),
  address: z.string().max(64).nullable(),
  /** Reverse name, when the relay resolved it within its bound (optional extension). */
  name: z.string().max(64).nullable().optional(),
  rtt_ms: z.tuple([z.number().min(0), z.number().min(0)]).nullable(),
  loss_rate: z.number().min(0).max(1),
  /** Probes sent at this TTL (optional extension). */
  probes: z.number().int().min(0).optional(),
});
/** The relay's trace of the path toward the client (v3, relay to client only). */
export const PathTraceSchema = z.object({
  type: z.literal('path_trace'),
  ...ids,
  at_ms: EpochMs,
  hops: z.array(PathHopSchema).max(64),
  path_mtu: z.number().int().min(68).max(65535).nullable(),
  /** The TTL of the hop that reported "fragmentation needed" (null: none did, or it is not in the trace). */
  mtu_hop: z.number().int().min(1).max(64).nullable(),
  /** That hop's address (optional extension). */
  mtu_hop_address: z.string().max(64).nullable().optional(),
  available: z.boolean(),
  reason: z.string().max(300).optional(),
});
export const ControlErrorSchema = z.object({
  type: z.literal('error'),
  code: z.string(),
  message: z.string(),
});

/** Every control message of PROTOCOL.md §2, discriminated on `type`. */
export const ControlMessageSchema = z.discriminatedUnion('type', [
  StartSurveySessionSchema,
  ServerSideReadySchema,
  GetMeasuringTimeSchema,
  MeasuringTimeResponseSchema,
  StartProbeStreamsSchema,
  StopProbeStreamsSchema,
  StartServerTrafficSchema,
  StopServerTrafficSchema,
  StartThroughputSchema,
  ThroughputReadySchema,
  StopThroughputSchema,
  ProbeStatsSchema,
  StopSurveySessionSchema,
  SurveySessionStoppedSchema,
  SenderReportSchema,
  RequestPathTraceSchema,
  PathTraceSchema,
  ControlErrorSchema,
]);
export type ControlMessage = z.infer<typeof ControlMessageSchema>;
export type ControlType = ControlMessage['type'];
export type ControlOf<T extends ControlType> = Extract<ControlMessage, { type: T }>;
export type ProbeStatsMessage = ControlOf<'probe_stats'>;
export type PathTraceMessage = ControlOf<'path_trace'>;
export type PathHop = z.infer<typeof PathHopSchema>;

export const CONTROL_TYPES: readonly ControlType[] = ControlMessageSchema.options.map((o) => o.shape.type.value);

/** Codes of control-channel `error` messages. */
export type ControlErrorCode = 'not_json' | 'too_large' | 'unknown_type' | 'invalid_message' | 'wrong_direction' | 'invalid_state';

export type ParsedControl =
  | { ok: true; message: ControlMessage }
  | { ok: false; error: { code: ControlErrorCode; message: string } };

/** Parses one control text into a typed message or a typed error naming the bad field; never throws. */
export function parseControlMessage(text: unknown): ParsedControl {
  if (typeof text !== 'string') return fail('invalid_message', 'control messages must be UTF-8 JSON text');
  if (text.length > MAX_CONTROL_CHARS) return fail('too_large', `message of ${text.length} chars exceeds ${MAX_CONTROL_CHARS}`);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return fail('not_json', 'message is not valid JSON');
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    return fail('invalid_message', 'message must be a JSON object');
  }
  const type = (json as { type?: unknown }).type;
  if (typeof type !== 'string') return fail('invalid_message', 'type: expected a string tag');
  if (!(CONTROL_TYPES as readonly string[]).includes(type)) {
    return fail('unknown_type', `type: unknown message type "${type.slice(0, 64)}"`);
  }
  const r = ControlMessageSchema.safeParse(json);
  if (!r.success) return fail('invalid_message', `${type}: ${describeZodError(r.error)}`);
  return { ok: true, message: r.data };
}

/** Builds a control `error` message. */
export function controlError(code: string, message: string): ControlOf<'error'> {
  return { type: 'error', code, message };
}

function fail(code: ControlErrorCode, message: string): ParsedControl {
  return { ok: false, error: { code, message } };
}
