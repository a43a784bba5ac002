// /api/keys (PROTOCOL.md §4): list, create and revoke magic keys; each person sees only the keys they may hand out.
import { Hono } from 'hono';
import type { Db } from '../../shared/db/client.js';
import { keyStatus, listKeysWithUsage, type KeyUsage } from '../../shared/db/key-views.js';
import { createMagicKey, findMagicKeyById, revokeMagicKeyById } from '../../shared/db/keys.js';
import { grantKey } from '../../shared/db/users.js';
import { KeyCreateSchema, KeyIdSchema, type KeyDefaultsView, type KeyView } from '../../shared/protocol/accounts.js';
import { readJsonBody } from '../body.js';
import { withDb } from '../db.js';
import type { EdgeEnv } from '../env.js';
import { HttpError } from '../errors.js';
import { mayUseKey, requireViewer, type Viewer } from '../auth/viewer.js';

/** The page link a technician opens: the measurement page with the key filled in. */
export const shareLink = (origin: string, key: string) => `${origin}/?key=${encodeURIComponent(key)}`;

function keyView(u: KeyUsage, origin: string, now: number): KeyView {
  const k = u.key;
  return {
    key_id: k.key_id,
    label: k.label,
    key: k.key,
    share_link: shareLink(origin, k.key),
    status: keyStatus(k, now),
    created_at: k.created_at,
    created_by: k.created_by,
    expires_at: k.expires_at,
    revoked_at: k.revoked_at,
    max_measuring_ms: k.max_measuring_ms,
    max_concurrent_sessions: k.max_concurrent_sessions,
    survey_count: u.survey_count,
    session_count: u.survey_count,
    last_used_at: u.last_used_at,
  };
}

/** The keys a viewer may see: every key for an admin, the granted ones for an analyst. */
const visibleKeys = (db: Db, v: Viewer) => listKeysWithUsage(db, v.role === 'admin' ? null : v.keys);

/** Routes under /api/keys. */
export function keyRoutes(): Hono<EdgeEnv> {
  const app = new Hono<EdgeEnv>();

  app.get('/', async (c) => {
    const v = await requireViewer(c);
    const origin = new URL(c.req.url).origin;
    const now = Date.now();
    const keys = await withDb(c.get('config'), (db) => visibleKeys(db, v));
    return c.json(keys.map((k) => keyView(k, origin, now)));
  });

  // What a key created without limits gets, for the console's form to show.
  app.get('/defaults', async (c) => {
    await requireViewer(c);
    return c.json({ max_concurrent_sessions: c.get('config').keyDefaultMaxConcurrentSessions } satisfies KeyDefaultsView);
  });

  // Admins and analysts create keys; the creator is granted the key, so an analyst sees the surveys of the keys they hand out.
  app.post('/', async (c) => {
    const config = c.get('config');
    const v = await requireViewer(c);
    const body = await readJsonBody(c.req.raw, KeyCreateSchema, config.maxBodyBytes);
    const origin = new URL(c.req.url).origin;
    const view = await withDb(config, async (db) => {
      const key = await createMagicKey(db, {
        label: body.label,
        ttlMs: body.ttl_s === undefined ? null : body.ttl_s * 1000,
        maxMeasuringMs: body.max_measuring_ms ?? null,
        // A key nobody limited still gets the default, so one holder cannot take every relay's capacity.
        maxConcurrentSessions: body.max_concurrent_sessions ?? config.keyDefaultMaxConcurrentSessions,
        createdBy: v.login,
      });
      await grantKey(db, v.login, key.key_id, v.login);
      return keyView({ key, survey_count: 0, last_used_at: null }, origin, Date.now());
    });
    console.log(`edge: key ${view.key_id} created by ${v.login}`);
    return c.json(view, 201);
  });

  // Admins revoke any key; an analyst only the keys they created. A key outside one's grants is not found, so its existence does not leak.
  app.post('/:key_id/revoke', async (c) => {
    const v = await requireViewer(c);
    const parsed = KeyIdSchema.safeParse(c.req.param('key_id'));
    if (!parsed.success) throw new HttpError('not_found', 'no such key');
    const keyId = parsed.data;
    await withDb(c.get('config'), async (db) => {
      const key = await findMagicKeyById(db, keyId);
      if (!key || !mayUseKey(v, keyId)) throw new HttpError('not_found', 'no such key');
      if (v.role !== 'admin' && key.created_by?.toLowerCase() !== v.login.toLowerCase()) {
        throw new HttpError('forbidden', 'only an admin or the person who created this key may revoke it');
      }
      await revokeMagicKeyById(db, keyId);
    });
    console.log(`edge: key ${keyId} revoked by ${v.login}`);
    return c.body(null, 204);
  });

  return app;
}
