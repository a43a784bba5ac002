// Which surveys a logged-in person may see: every survey for an admin, the surveys of granted keys for an analyst.
import type { InValue } from '@libsql/client';
import type { Db, InStatement, ResultSet } from '../../shared/db/client.js';
import type { SqlCondition } from '../../shared/db/survey-list.js';
import { grantedCondition, knownGrants, type GrantsSql } from '../../shared/db/viewer-grants.js';
import { HttpError } from '../errors.js';
import type { Viewer } from '../auth/viewer.js';

/**
 * A WHERE-clause condition on survey_sessions (aliased `s`) that keeps only
 * the viewer's surveys; `1` for an admin. Every survey route filters with
 * this, so no route can show another key's survey.
 */
export function visibleSurveys(v: Pick<Viewer, 'role' | 'keys'>): { sql: string; args: InValue[] } {
  return surveysGranted(knownGrants(v));
}

/** visibleSurveys for grants given as SQL (e.g. a session's, in the batch that looks the viewer up). */
export function surveysGranted(g: GrantsSql): SqlCondition {
  return grantedCondition(g, (keyIds) => ({ sql: `s.magic_key IN (SELECT key FROM magic_keys WHERE key_id IN (${keyIds.sql}))`, args: keyIds.args }));
}

/**
 * Conditions on survey_sessions `s` that keep survey rows the grants see, deleted ones only when
 * `includeDeleted` (as findVisibleSurvey judges them).
 */
export function visibleSurveyConditions(g: GrantsSql, includeDeleted: boolean): SqlCondition[] {
  return [surveysGranted(g), ...(includeDeleted ? [] : [{ sql: 'COALESCE(s.deleted, 0) = 0', args: [] }])];
}

/** Whether survey `id` is one the grants see (visibleSurveyConditions), as a condition on nothing else: a gate for its other rows' reads. */
export function surveyVisibleGate(g: GrantsSql, id: string, includeDeleted: boolean): SqlCondition {
  const conds = visibleSurveyConditions(g, includeDeleted);
  return {
    sql: `EXISTS (SELECT 1 FROM survey_sessions s WHERE s.session_id = ? AND ${conds.map((c) => `(${c.sql})`).join(' AND ')})`,
    args: [id, ...conds.flatMap((c) => c.args)],
  };
}

export interface VisibleSurvey {
  session_id: string;
  magic_key: string;
  deleted: boolean;
}

/**
 * The survey `id` if the viewer may see it; otherwise 404 not_found, the same
 * answer as for no survey at all, so existence does not leak. Deleted surveys
 * are found only when `includeDeleted` (restore, purge, or `deleted=` asked for).
 */
export async function findVisibleSurvey(db: Db, v: Viewer, id: string, includeDeleted = false): Promise<VisibleSurvey> {
  return visibleSurveyFrom(await db.execute(visibleSurveyStatement(knownGrants(v), id)), id, includeDeleted);
}

/** findVisibleSurvey's query for grants as SQL, for a batch (with the viewer's lookup); judge its result with visibleSurveyFrom. */
export function visibleSurveyStatement(g: GrantsSql, id: string): InStatement {
  const access = surveysGranted(g);
  return {
    sql: `SELECT s.session_id, s.magic_key, COALESCE(s.deleted, 0) AS deleted FROM survey_sessions s WHERE s.session_id = ? AND ${access.sql}`,
    args: [id, ...access.args],
  };
}

/** The survey a visibleSurveyStatement result holds, or 404 not_found as findVisibleSurvey says. */
export function visibleSurveyFrom(rs: ResultSet | undefined, id: string, includeDeleted: boolean): VisibleSurvey {
  const row = rs?.rows[0];
  if (!row || (!includeDeleted && Number(row.deleted) !== 0)) throw new HttpError('not_found', `no survey ${id}`);
  return { session_id: String(row.session_id), magic_key: String(row.magic_key), deleted: Number(row.deleted) !== 0 };
}
