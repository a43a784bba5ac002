// The survey API's answers the console reads (PROTOCOL.md §4), checked on arrival.
import * as z from 'zod/mini';
import type { MetricRow } from './metric-series.js';

const Num = z.nullable(z.number());

export const SurveyItemSchema = z.object({
  session_id: z.string(),
  key_id: z.nullable(z.string()),
  key_label: z.nullable(z.string()),
  user_login: z.nullable(z.string()),
  start_time: z.number(),
  last_update_time: z.number(),
  duration_ms: z.number(),
  connections: z.number(),
  metric_rows: z.number(),
  has_capture: z.boolean(),
  deleted: z.boolean(),
  end_reason: z.optional(z.nullable(z.string())),
});
export type SurveyItem = z.infer<typeof SurveyItemSchema>;

export const SurveyPageSchema = z.object({ items: z.array(SurveyItemSchema), next_cursor: z.nullable(z.string()) });

const Quantiles = z.nullable(z.object({ p50: z.number(), p99: z.number(), min: z.number(), max: z.number() }));
const Core = z.object({
  loss_rate: Num,
  rtt_ms: Quantiles,
});
export const DirectionSummarySchema = z.object({
  seconds: z.number(),
  probes_expected: z.number(),
  probes_received: z.number(),
  probes_lost: z.number(),
  loss_rate: Num,
  reordered: z.number(),
  reorder_rate: Num,
  seconds_without_arrivals: z.number(),
  delay_deviation_ms: Quantiles,
  rtt_ms: Quantiles,
  jitter_ms: Quantiles,
  throughput_bps: z.nullable(z.object({ mean: z.number(), max: z.number(), seconds: z.number() })),
  idle: z.optional(Core),
  loaded: z.optional(Core),
  responsiveness_rpm: z.optional(Num),
  /** How the RPM was found: the draft's trimmed mean over merged sketches, or 60000 / loaded p50 (seconds without sketches); absent from older edges. */
  responsiveness_from: z.optional(z.nullable(z.enum(['trimmed_mean', 'p50_approx']))),
  /** How p50/p99 were found: merged per-second sketches, or the per-second approximation (seconds without sketches); absent from older edges. */
  percentiles: z.optional(z.nullable(z.enum(['merged', 'per_second_approx']))),
});
export type DirectionSummary = z.infer<typeof DirectionSummarySchema>;

export const RecordingSchema = z.object({
  recording_id: z.string(),
  kind: z.enum(['video', 'sensors']),
  mime: z.string(),
  size_bytes: z.number(),
  started_at: Num,
  status: z.string(),
  notes: z.optional(z.nullable(z.string())),
});
export type Recording = z.infer<typeof RecordingSchema>;

/** One path trace of a connection (PROTOCOL v3 `path_traces`). */
export const PathTraceSchema = z.object({
  conn_id: z.string(),
  at_ms: z.number(),
  available: z.boolean(),
  reason: z.nullable(z.string()),
  path_mtu: Num,
  mtu_hop: Num,
  hops: z.array(
    z.object({
      ttl: z.number(),
      address: z.nullable(z.string()),
      name: z.optional(z.nullable(z.string())),
      rtt_ms: z.nullable(z.tuple([z.number(), z.number()])),
      loss_rate: z.number(),
    }),
  ),
});
export type PathTrace = z.infer<typeof PathTraceSchema>;

const Pair = z.nullable(z.object({ p50: z.number(), p99: z.number() }));
const Family = z.nullable(z.enum(['ipv4', 'ipv6']));
/** One direction of a path or family, by counts (shared/protocol/paths.ts PathDirectionSummarySchema). */
const PathDirection = z.object({
  probes_expected: z.number(),
  probes_lost: z.number(),
  loss_rate: z.number(),
  rtt_ms: Pair,
  delay_variation_ms: Pair,
  percentiles: z.optional(z.nullable(z.enum(['merged', 'per_second_approx']))),
});
export type PathDirection = z.infer<typeof PathDirection>;

/** The detail's families × paths fields (issue 22; absent from an edge older than it): shared/protocol/paths.ts. */
export const PathSplitSchema = {
  connection_paths: z.optional(
    z.array(
      z.object({
        conn_id: z.string(),
        family: Family,
        path_index: Num,
        client_prefix: z.nullable(z.string()),
        relay_address: z.nullable(z.string()),
        candidate_type: z.nullable(z.string()),
      }),
    ),
  ),
  path_split: z.optional(
    z.object({
      family_summaries: z.array(z.object({ family: Family, paths: z.number(), c2s: PathDirection, s2c: PathDirection })),
      path_summaries: z.array(z.object({ family: Family, path_index: Num, conn_ids: z.array(z.string()), c2s: PathDirection, s2c: PathDirection })),
    }),
  ),
};

export const SurveyDetailSchema = z.extend(SurveyItemSchema, {
  ...PathSplitSchema,
  summaries: z.array(z.object({ conn_id: z.string(), c2s: DirectionSummarySchema, s2c: DirectionSummarySchema })),
  recordings: z.array(RecordingSchema),
  captures: z.array(z.object({ conn_id: z.string(), peer_id: z.string(), bytes: z.number() })),
  // Absent from an edge older than path traces.
  path_traces: z.optional(z.array(PathTraceSchema)),
});
export type SurveyDetail = z.infer<typeof SurveyDetailSchema>;

export const MetricRowsSchema: z.ZodMiniType<MetricRow[]> = z.array(
  z.object({
    timestamp_ms: z.number(),
    source: z.string(),
    conn_id: z.nullable(z.string()),
    direction: z.nullable(z.string()),
    delay_p50_ms: Num,
    delay_p99_ms: Num,
    jitter_p50_ms: Num,
    rtt_p50_ms: Num,
    rtt_p99_ms: Num,
    loss_rate: Num,
    reorder_rate: Num,
    throughput_bps: Num,
    loaded: Num,
    probe_count: Num,
    window_index: z.optional(Num),
  }),
);

/** `GET /api/surveys/{id}/series`: chart rows downsampled to buckets of `bucket_ms`, over [from, to] (null: no rows). */
export const SeriesSchema = z.object({ from: Num, to: Num, bucket_ms: z.number(), rows: MetricRowsSchema });
export type Series = z.infer<typeof SeriesSchema>;

const LiveStatsSchema = z.nullable(z.object({ timestamp_ms: z.number(), loss_rate: Num, rtt_p50_ms: Num, delay_p50_ms: Num, delay_p99_ms: Num }));
export const LivePeersSchema = z.array(
  z.object({
    peer_id: z.string(),
    relay_id: z.string(),
    region: z.string(),
    key_id: z.string(),
    key_label: z.string(),
    survey_session_id: z.nullable(z.string()),
    conn_id: z.string(),
    connected_at: z.number(),
    state: z.enum(['connected', 'relay_lost']),
    last_stats: z.object({ c2s: LiveStatsSchema, s2c: LiveStatsSchema }),
  }),
);
export type LivePeer = z.infer<typeof LivePeersSchema>[number];

/** `POST /api/surveys/export-jobs`: the job just queued. */
export const ExportJobStartSchema = z.object({ job_id: z.string(), status: z.string() });

/** `GET /api/surveys/export-jobs/{id}`: a background export's progress, and its file once done. */
export const ExportJobSchema = z.object({
  job_id: z.string(),
  status: z.enum(['queued', 'running', 'done', 'failed']),
  format: z.string(),
  rows_done: z.number(),
  total_rows: Num,
  bytes: z.number(),
  error: z.nullable(z.string()),
  download: z.nullable(z.string()),
});
export type ExportJobAnswer = z.infer<typeof ExportJobSchema>;
