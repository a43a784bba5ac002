// Recordings of a walk (video, sensor log) uploaded in resumable SHA-256-checked chunks (PROTOCOL.md §4).
import * as z from 'zod';

export const Sha256HexSchema = z.string().regex(/^[0-9a-f]{64}$/, 'must be a SHA-256 in 64 lower-case hex digits');

/** MIME types a recording may have: what MediaRecorder writes, and the sensor log's JSON lines. */
export const RecordingMimeSchema = z
  .string()
  .max(128)
  .regex(/^(video\/(webm|mp4)|audio\/webm|application\/(x-ndjson|json))(;\s*codecs="?[A-Za-z0-9.,_ -]+"?)?$/, 'must be video/webm, video/mp4 or application/x-ndjson (optionally with codecs)');

/** `POST /api/recordings`: announces a file (or asks where its upload stands, with the same recording_id). */
export const RecordingCreateSchema = z.object({
  survey_session_id: z.string().min(1).max(128),
  recording_id: z.uuid().optional(),
  kind: z.enum(['video', 'sensors']),
  size_bytes: z.number().int().min(1),
  sha256: Sha256HexSchema,
  mime: RecordingMimeSchema,
  device_info: z.record(z.string().max(64), z.union([z.string().max(512), z.number(), z.boolean(), z.null()])).refine((o) => Object.keys(o).length <= 32, 'at most 32 fields').optional(),
  notes: z.string().max(4000).optional(),
  /** Where the file starts on the survey's clock (ms since epoch), so it lines up with the metric rows. */
  started_at: z.number().min(0).optional(),
});
export type RecordingCreate = z.infer<typeof RecordingCreateSchema>;

/** Answer of `POST /api/recordings`: the resume point. */
export interface RecordingUploadState {
  recording_id: string;
  chunk_bytes: number;
  chunks: number;
  received: number[];
  status: 'pending' | 'complete';
}

/** `GET /api/recordings/{id}`. */
export interface RecordingView {
  recording_id: string;
  survey_session_id: string;
  kind: 'video' | 'sensors';
  mime: string;
  size_bytes: number;
  sha256: string;
  status: 'pending' | 'complete' | 'failed';
  uploaded_bytes: number;
  started_at: number | null;
  created_at: number;
  completed_at: number | null;
  device_info: Record<string, unknown> | null;
  notes: string | null;
}
