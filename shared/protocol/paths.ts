// Families × paths (PROTOCOL.md §2 v3 `family`, `path_index`): what a survey's connections ended on, and the survey
// detail's split of its measurements per family and per path (GET /api/surveys/{id}, additive fields).
import * as z from 'zod';
import { IpVersionSchema, PathIndexSchema } from './signaling.js';

/** One connection of a survey: its family and path, and the address pair its ICE ended on (client side cut to /24 or /48). */
export const ConnectionPathSchema = z.object({
  conn_id: z.string(),
  family: IpVersionSchema.nullable(),
  path_index: PathIndexSchema.nullable(),
  /** The client's address as a prefix, `192.0.2.0/24` or `2001:db8:1::/48`; null until the pair is known. */
  client_prefix: z.string().nullable(),
  client_port: z.number().int().nullable(),
  relay_address: z.string().nullable(),
  relay_port: z.number().int().nullable(),
  /** The ICE candidate type of the client's side (`host`, `srflx`, `prflx`, `relay`), as the relay saw it. */
  candidate_type: z.string().nullable(),
});
export type ConnectionPath = z.infer<typeof ConnectionPathSchema>;

/** A percentile pair of a window: from its seconds' merged sketches, or (`percentiles: "per_second_approx"`) median of p50s, largest p99; null without samples. */
export const PercentilePairSchema = z.object({ p50: z.number(), p99: z.number() }).nullable();

/** One direction of a path or family, summed by counts over the survey. */
export const PathDirectionSummarySchema = z.object({
  probes_expected: z.number(),
  probes_lost: z.number(),
  /** Percent: Σ lost / Σ expected. */
  loss_rate: z.number(),
  rtt_ms: PercentilePairSchema,
  /** Delay variation: |IPDV| between consecutive probes (RFC 5481), the `jitter_ms` columns. */
  delay_variation_ms: PercentilePairSchema,
  /** Where rtt_ms and delay_variation_ms come from: merged sketches of every second with samples, or (a second without) the per-second approximation; null without samples. Additive (absent from older edges). */
  percentiles: z.enum(['merged', 'per_second_approx']).nullable().optional(),
});
export type PathDirectionSummary = z.infer<typeof PathDirectionSummarySchema>;

/** One path of one family: its connections (a reconnect keeps the path) summed by counts. */
export const PathSummarySchema = z.object({
  family: IpVersionSchema.nullable(),
  path_index: z.number().int().nullable(),
  conn_ids: z.array(z.string()),
  c2s: PathDirectionSummarySchema,
  s2c: PathDirectionSummarySchema,
});
export type PathSummary = z.infer<typeof PathSummarySchema>;

/** One family: all its paths summed by counts. */
export const FamilySummarySchema = z.object({
  family: IpVersionSchema.nullable(),
  paths: z.number().int(),
  c2s: PathDirectionSummarySchema,
  s2c: PathDirectionSummarySchema,
});
export type FamilySummary = z.infer<typeof FamilySummarySchema>;

/** The survey split per family and per path (the detail's `path_split`). */
export const SurveyPathSplitSchema = z.object({
  family_summaries: z.array(FamilySummarySchema),
  path_summaries: z.array(PathSummarySchema),
});
export type SurveyPathSplit = z.infer<typeof SurveyPathSplitSchema>;

/** The survey detail's additive fields for families × paths (GET /api/surveys/{id}). */
export const SurveyDetailPathFieldsSchema = z.object({
  connection_paths: z.array(ConnectionPathSchema),
  path_split: SurveyPathSplitSchema,
});
export type SurveyDetailPathFields = z.infer<typeof SurveyDetailPathFieldsSchema>;

/** The headless client's word that a family was left out of a survey (CLI line and `--json` line `{"type": "family_unavailable", ...}`). */
export const FamilyUnavailableSchema = z.object({
  type: z.literal('family_unavailable'),
  family: IpVersionSchema,
  reason: z.string(),
});
export type FamilyUnavailable = z.infer<typeof FamilyUnavailableSchema>;
