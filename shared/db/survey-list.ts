// The survey list of the console (PROTOCOL.md §4 GET /api/surveys): filters, newest first, keyset paging, per-survey counts.
import type { InStatement, InValue, ResultSet } from '@libsql/client';
import * as z from 'zod';
import { KeyIdSchema } from '../protocol/accounts.js';
import type { Db } from './client.js';

/** One survey as the list (and the detail, before its summaries) shows it. */
export interface SurveyItem {
  session_id: string;
  /** null when the survey's magic key is no longer in magic_keys. */
  key_id: string | null;
  key_label: string;
  user_login: string | null;
  start_time: number;
  last_update_time: number;
  /** (end_time ?? last_update_time) − start_time. */
  duration_ms: number;
  /** Distinct conn_id among the survey's metric rows. */
  connections: number;
  metric_rows: number;
  /** A capture path on the session or a survey_captures row. */
  has_capture: boolean;
  deleted: boolean;
  end_time: number | null;
  end_reason: string | null;
}

export interface SurveyPage {
  items: SurveyItem[];
  /** Pass back as `cursor` for the next page; null after the last. */
  next_cursor: string | null;
}

/** Where a page ends: the last item's sort key. */
export interface SurveyCursor {
  start_time: number;
  session_id: string;
}

/** Survey ids as the routes accept them (the relay takes any string id up to 128 characters). */
export const SurveyIdSchema = z.string().min(1).max(128);

const CursorTupleSchema = z.tuple([z.number().finite(), SurveyIdSchema]);

/** The cursor as base64url of the JSON `[start_time, session_id]`: opaque to clients, cheap to check. */
export function encodeCursor(c: SurveyCursor): string {
  const bytes = new TextEncoder().encode(JSON.stringify([c.start_time, c.session_id]));
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** The cursor back, or null when it is not one this list made. */
export function decodeCursor(text: string): SurveyCursor | null {
  if (!/^[A-Za-z0-9_-]{1,1000}$/.test(text)) return null;
  try {
    const binary = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
    const json = new TextDecoder('utf-8', { fatal: true }).decode(Uint8Array.from(binary, (ch) => ch.charCodeAt(0)));
    const parsed = CursorTupleSchema.safeParse(JSON.parse(json));
    return parsed.success ? { start_time: parsed.data[0], session_id: parsed.data[1] } : null;
  } catch {
    return null;
  }
}

/** A time bound: milliseconds since the epoch, or an ISO 8601 date or date-time (UTC unless it names a zone). */
const TimeParamSchema = z.string().transform((s, ctx) => {
  const ms = /^-?\d+(\.\d+)?$/.test(s) ? Number(s) : /^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(s) ? Date.parse(s) : NaN;
  if (!Number.isFinite(ms)) {
    ctx.addIssue({ code: 'custom', message: 'expected milliseconds since the epoch or an ISO 8601 date' });
    return z.NEVER;
  }
  return ms;
});

/** `GET /api/surveys` query: `from` ≤ start_time < `to`; `deleted` false (default) hides deleted surveys, true shows only them, all both. */
export const SurveyListQuerySchema = z.object({
  key_id: KeyIdSchema.optional(),
  from: TimeParamSchema.optional(),
  to: TimeParamSchema.optional(),
  user: z.string().min(1).max(256).optional(),
  deleted: z.enum(['false', 'true', 'all']).default('false'),
  limit: z
    .string()
    .regex(/^\d+$/, 'expected a whole number from 1 to 200')
    .transform(Number)
    .pipe(z.number().int().min(1, 'must be at least 1').max(200, 'must be at most 200'))
    .default(50),
  cursor: z
    .string()
    .transform((s, ctx) => {
      const c = decodeCursor(s);
      if (!c) {
        ctx.addIssue({ code: 'custom', message: 'not a cursor this list gave out (pass next_cursor back unchanged)' });
        return z.NEVER;
      }
      return c;
    })
    .optional(),
});
export type SurveyListQuery = z.infer<typeof SurveyListQuerySchema>;

/** An SQL condition with its arguments. */
export interface SqlCondition {
  sql: string;
  args: InValue[];
}

/** The filter conditions of a list query on survey_sessions `s` (deleted: `deleted <> 0` matches idx_sessions_deleted_start exactly). */
function listConditions(q: SurveyListQuery): SqlCondition[] {
  const conds: SqlCondition[] = [];
  if (q.key_id !== undefined) conds.push({ sql: 's.magic_key = (SELECT key FROM magic_keys WHERE key_id = ?)', args: [q.key_id] });
  if (q.user !== undefined) conds.push({ sql: 's.user_login = ?', args: [q.user] });
  if (q.from !== undefined) conds.push({ sql: 's.start_time >= ?', args: [q.from] });
  if (q.to !== undefined) conds.push({ sql: 's.start_time < ?', args: [q.to] });
  if (q.deleted === 'false') conds.push({ sql: 'COALESCE(s.deleted, 0) = 0', args: [] });
  if (q.deleted === 'true') conds.push({ sql: 's.deleted <> 0', args: [] });
  if (q.cursor) conds.push({ sql: '(s.start_time, s.session_id) < (?, ?)', args: [q.cursor.start_time, q.cursor.session_id] });
  return conds;
}

/**
 * The items of the surveys matching `where`, newest first, at most `limit`. The
 * inner query picks the page from the indexes of migration 10; the counts
 * run for the page's rows only (idx_metrics_session_conn answers them alone).
 */
function itemsStatement(where: readonly SqlCondition[], limit: number): InStatement {
  return {
    sql: `SELECT p.*, k.key_id, k.label AS key_label,
                 (SELECT count(*) FROM survey_metrics m WHERE m.session_id = p.session_id) AS metric_rows,
                 (SELECT count(DISTINCT m.conn_id) FROM survey_metrics m WHERE m.session_id = p.session_id) AS connections,
                 (p.pcap_path IS NOT NULL OR EXISTS (SELECT 1 FROM survey_captures c WHERE c.session_id = p.session_id)) AS has_capture
            FROM (SELECT s.session_id, s.magic_key, s.user_login, s.start_time, s.last_update_time, s.end_time, s.end_reason,
                         s.pcap_path, COALESCE(s.deleted, 0) AS deleted
                    FROM survey_sessions s
                   WHERE ${where.map((c) => `(${c.sql})`).join(' AND ') || '1'}
                   ORDER BY s.start_time DESC, s.session_id DESC
                   LIMIT ?) p
            LEFT JOIN magic_keys k ON k.key = p.magic_key
           ORDER BY p.start_time DESC, p.session_id DESC`,
    args: [...where.flatMap((c) => c.args), limit],
  };
}

/** The items an itemsStatement result holds. */
function itemsFrom(rs: ResultSet): SurveyItem[] {
  return rs.rows.map((r) => {
    const start = Number(r.start_time);
    const last = Number(r.last_update_time);
    const end = r.end_time == null ? null : Number(r.end_time);
    return {
      session_id: String(r.session_id),
      key_id: r.key_id == null ? null : String(r.key_id),
      key_label: String(r.key_label ?? ''),
      user_login: r.user_login == null ? null : String(r.user_login),
      start_time: start,
      last_update_time: last,
      duration_ms: (end ?? last) - start,
      connections: Number(r.connections),
      metric_rows: Number(r.metric_rows),
      has_capture: Number(r.has_capture) !== 0,
      deleted: Number(r.deleted) !== 0,
      end_time: end,
      end_reason: r.end_reason == null ? null : String(r.end_reason),
    };
  });
}

/** One page of the surveys `access` lets the viewer see (a condition on `s`, see visibleSurveys), filtered by `q`. */
export async function listSurveys(db: Db, access: SqlCondition, q: SurveyListQuery): Promise<SurveyPage> {
  return surveyPageFrom(await db.execute(surveyListStatement(access, q)), q);
}

/** listSurveys' query, for a caller that batches it (with the viewer's lookup); read its result with surveyPageFrom. */
export function surveyListStatement(access: SqlCondition, q: SurveyListQuery): InStatement {
  return itemsStatement([access, ...listConditions(q)], q.limit + 1);
}

/** The page a surveyListStatement result holds. */
export function surveyPageFrom(rs: ResultSet, q: SurveyListQuery): SurveyPage {
  const items = itemsFrom(rs);
  const page = items.slice(0, q.limit);
  const last = page.at(-1);
  return { items: page, next_cursor: items.length > q.limit && last ? encodeCursor(last) : null };
}

/** One survey's item (access already checked by the caller), or null. */
export async function findSurveyItem(db: Db, sessionId: string): Promise<SurveyItem | null> {
  return surveyItemFrom(await db.execute(surveyItemStatement(sessionId, [])));
}

/** One survey's item where every condition of `where` (on survey_sessions `s`, e.g. the viewer's access) holds, for a batch; read it with surveyItemFrom. */
export function surveyItemStatement(sessionId: string, where: readonly SqlCondition[]): InStatement {
  return itemsStatement([{ sql: 's.session_id = ?', args: [sessionId] }, ...where], 1);
}

/** The item a surveyItemStatement result holds, or null. */
export function surveyItemFrom(rs: ResultSet | undefined): SurveyItem | null {
  return (rs && itemsFrom(rs)[0]) ?? null;
}
