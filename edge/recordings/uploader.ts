// Who may upload to a survey: a logged-in person who may see it, or a technician holding the survey's own magic key.
import type { Context } from 'hono';
import type { Db } from '../../shared/db/client.js';
import type { EdgeEnv } from '../env.js';
import { HttpError } from '../errors.js';
import { admitKey, requestMagicKey } from '../keys.js';
import { clientAddress } from '../rate-limit.js';
import { getViewer } from '../auth/viewer.js';
import { findVisibleSurvey } from '../console-api/survey-access.js';

export interface Uploader {
  /** The survey's magic key (the quota is counted per key). */
  magicKey: string;
  /** Who uploads: the login, or null for a technician with only the key. */
  login: string | null;
}

/**
 * Admits an upload to survey `surveyId`. A logged-in person needs the survey
 * visible to them (else 404, as for no survey); a key holder needs the
 * survey to be of that very key (403 `forbidden` otherwise: they hold a key,
 * just not this survey's). Without either, 401.
 */
export async function admitUploader(c: Context<EdgeEnv>, db: Db, surveyId: string): Promise<Uploader> {
  const config = c.get('config');
  const keyText = requestMagicKey(undefined, c.req.header('authorization')) ?? c.req.query('key') ?? null;
  if (keyText) {
    const key = await admitKey(db, clientAddress(c.req.raw, config), keyText, { limit: config.keyFailureLimit, windowMs: config.keyFailureWindowMs });
    const rs = await db.execute({ sql: 'SELECT magic_key, COALESCE(deleted, 0) AS deleted FROM survey_sessions WHERE session_id = ?', args: [surveyId] });
    const row = rs.rows[0];
    if (!row || Number(row.deleted) !== 0) throw new HttpError('not_found', `no survey ${surveyId}`);
    if (String(row.magic_key) !== key.key) throw new HttpError('forbidden', 'this survey was made with another magic key; recordings go to surveys of the key you hold');
    return { magicKey: key.key, login: (await getViewer(c))?.login ?? null };
  }
  const viewer = await getViewer(c);
  if (!viewer) throw new HttpError('auth_required', 'a magic key (Authorization: MagicKey <key>) or a login is required to upload');
  const survey = await findVisibleSurvey(db, viewer, surveyId);
  return { magicKey: survey.magic_key, login: viewer.login };
}
