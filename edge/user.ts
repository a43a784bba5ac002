import type { Context } from 'hono';
import type { EdgeEnv } from './env.js';
import { getViewer } from './auth/viewer.js';

/** The logged-in user's login, carried to the relay in its token and so into survey_sessions.user_login; null for a technician with only a key. */
export async function currentUserLogin(c: Context<EdgeEnv>): Promise<string | null> {
  return (await getViewer(c))?.login ?? null;
}
