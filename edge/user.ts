import type { Context } from 'hono';

/**
 * The logged-in user's login, carried to the relay (and so into
 * survey_sessions.user_login). There is no login yet: this is the one place
 * that will read it (e.g. a signed session cookie) when there is.
 */
export async function currentUserLogin(_c: Context): Promise<string | null> {
  return null;
}
