// Which surveys a logged-in person may see: every survey for an admin, the surveys of granted keys for an analyst.
import type { InValue } from '@libsql/client';
import type { Db } from '../../shared/db/client.js';
import { HttpError } from '../errors.js';
import type { Viewer } from '../auth/viewer.js';

/**
 * A WHERE-clause condition on survey_sessions (aliased `s`) that keeps only
 * the viewer's surveys; `1` for an admin. Every survey route filters with
 * this, so no route can show another key's survey.
 */
export function visibleSurveys(v: Pick<Viewer, 'role' | 'keys'>): { sql: string; args: InValue[] } {
  if (v.role === 'admin') return { sql: '1', args: [] };
  return { sql: 's.magic_key IN (SELECT key FROM magic_keys WHERE key_id IN (SELECT value FROM json_each(?)))', args: [JSON.stringify(v.keys)] };
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
  const access = visibleSurveys(v);
  const rs = await db.execute({
    sql: `SELECT s.session_id, s.magic_key, COALESCE(s.deleted, 0) AS deleted FROM survey_sessions s WHERE s.session_id = ? AND ${access.sql}`,
    args: [id, ...access.args],
  });
  const row = rs.rows[0];
  if (!row || (!includeDeleted && Number(row.deleted) !== 0)) throw new HttpError('not_found', `no survey ${id}`);
  return { session_id: String(row.session_id), magic_key: String(row.magic_key), deleted: Number(row.deleted) !== 0 };
}
