// The login cookie's attributes, by the request's scheme: Secure over https only, always HttpOnly and SameSite=Lax.
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import type { Db } from '../../shared/db/client.js';
import { clearSessionCookie, startLoginSession } from '../../edge/auth/session-cookie.js';
import type { EdgeConfig } from '../../edge/config.js';
import type { EdgeEnv } from '../../edge/env.js';

/** Records the statements instead of running them: the cookie, not the row, is under test here (the row is in accounts-sessions.test.ts). */
function recordingDb(): Db & { sql: string[] } {
  const sql: string[] = [];
  const run = async (s: { sql: string }) => (sql.push(s.sql), { rows: [], rowsAffected: 1 });
  return { sql, execute: run, batch: async (stmts: { sql: string }[]) => Promise.all(stmts.map(run)) } as unknown as Db & { sql: string[] };
}

function app(db: Db) {
  const a = new Hono<EdgeEnv>();
  a.use('*', async (c, next) => {
    c.set('config', { session: { idleMs: 3_600_000, maxMs: 86_400_000 } } as EdgeConfig);
    await next();
  });
  a.get('/in', async (c) => {
    await startLoginSession(c, db, 'ana', 'password');
    return c.body(null, 204);
  });
  a.get('/out', (c) => {
    clearSessionCookie(c);
    return c.body(null, 204);
  });
  return a;
}

describe('session cookie', () => {
  it('is Secure over https, not over http; HttpOnly, SameSite=Lax, Path=/ and as long as the session may live, either way', async () => {
    const db = recordingDb();
    const https = (await app(db).request('https://edge.example/in')).headers.get('set-cookie')!;
    const http = (await app(db).request('http://127.0.0.1:8787/in')).headers.get('set-cookie')!;
    for (const c of [https, http]) {
      expect(c).toMatch(/^np_session=[A-Za-z0-9_-]{43}; Max-Age=86400; Path=\//);
      expect(c).toMatch(/; HttpOnly/);
      expect(c).toMatch(/; SameSite=Lax/);
    }
    expect(https).toMatch(/; Secure/);
    expect(http).not.toMatch(/Secure/);
    expect(db.sql.filter((q) => q.startsWith('INSERT INTO auth_sessions'))).toHaveLength(2);
  });

  it('is cleared with the same attributes', async () => {
    const out = (await app(recordingDb()).request('https://edge.example/out')).headers.get('set-cookie')!;
    expect(out).toMatch(/^np_session=; Max-Age=0; Path=\/; HttpOnly; Secure; SameSite=Lax/);
  });
});
