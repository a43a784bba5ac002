// /api/users (PROTOCOL.md §4, admin only): create users, change role, grants, disable, reset password.
import { Hono } from 'hono';
import { hashPassword } from '../../shared/auth/password.js';
import { closeUserSessions } from '../../shared/db/auth-sessions.js';
import { missingKeyIds } from '../../shared/db/keys.js';
import type { Db } from '../../shared/db/client.js';
import { createUser, findUser, grantedKeyIds, listUsers, setGrants, updateUser, userView, type UserView } from '../../shared/db/users.js';
import { LoginSchema, UserCreateSchema, UserPatchSchema } from '../../shared/protocol/accounts.js';
import { readJsonBody } from '../body.js';
import { withDb } from '../db.js';
import type { EdgeEnv } from '../env.js';
import { HttpError } from '../errors.js';
import { requireAdmin } from '../auth/viewer.js';

/** Refuses key_ids that name no key, so a grant never points at nothing. */
async function assertKeysExist(db: Db, keyIds: readonly string[]): Promise<void> {
  const missing = await missingKeyIds(db, keyIds);
  if (missing.length) throw new HttpError('invalid_request', `keys: no key ${missing.join(', ')}`);
}

/** Active admins other than `login`: the last one may not be demoted or disabled, or nobody could manage the system. */
async function otherActiveAdmins(db: Db, login: string): Promise<number> {
  const rs = await db.execute({ sql: "SELECT count(*) AS n FROM users WHERE role = 'admin' AND disabled_at IS NULL AND login <> ?", args: [login] });
  return Number(rs.rows[0]?.n ?? 0);
}

async function viewOf(db: Db, login: string): Promise<UserView> {
  const user = await findUser(db, login);
  if (!user) throw new HttpError('not_found', `no user ${login}`);
  return userView(user, await grantedKeyIds(db, user.login));
}

/** Routes under /api/users. */
export function userRoutes(): Hono<EdgeEnv> {
  const app = new Hono<EdgeEnv>();

  app.get('/', async (c) => {
    await requireAdmin(c);
    return c.json(await withDb(c.get('config'), (db) => listUsers(db)));
  });

  app.post('/', async (c) => {
    const config = c.get('config');
    const admin = await requireAdmin(c);
    const body = await readJsonBody(c.req.raw, UserCreateSchema, config.maxBodyBytes);
    const view = await withDb(config, async (db) => {
      await assertKeysExist(db, body.keys ?? []);
      const passwordHash = body.password ? await hashPassword(body.password) : null;
      if (!(await createUser(db, { login: body.login, role: body.role, passwordHash, email: body.email ?? null, createdBy: admin.login }))) {
        throw new HttpError('conflict', `login: ${body.login} is taken`);
      }
      if (body.keys?.length) await setGrants(db, body.login, body.keys, admin.login);
      return viewOf(db, body.login);
    });
    console.log(`edge: user ${view.login} (${view.role}) created by ${admin.login}`);
    return c.json(view, 201);
  });

  app.patch('/:login', async (c) => {
    const config = c.get('config');
    const admin = await requireAdmin(c);
    const login = LoginSchema.safeParse(c.req.param('login'));
    if (!login.success) throw new HttpError('not_found', 'no such user');
    const body = await readJsonBody(c.req.raw, UserPatchSchema, config.maxBodyBytes);
    const view = await withDb(config, async (db) => {
      const user = await findUser(db, login.data);
      if (!user) throw new HttpError('not_found', `no user ${login.data}`);
      const losesAdmin = user.role === 'admin' && user.disabled_at === null && (body.role === 'analyst' || body.disabled === true);
      if (losesAdmin && (await otherActiveAdmins(db, user.login)) === 0) {
        throw new HttpError('conflict', `${user.login} is the last active admin; make another admin first`);
      }
      if (body.keys) await assertKeysExist(db, body.keys);
      await updateUser(db, user.login, {
        ...(body.role !== undefined ? { role: body.role } : {}),
        ...(body.email !== undefined ? { email: body.email } : {}),
        ...(body.disabled !== undefined ? { disabled: body.disabled } : {}),
        ...(body.password !== undefined ? { passwordHash: await hashPassword(body.password) } : {}),
      });
      // A reset password ends the user's sessions (the admin's own current one survives resetting their own).
      if (body.password !== undefined) await closeUserSessions(db, user.login, user.login.toLowerCase() === admin.login.toLowerCase() ? admin.token : undefined);
      if (body.keys) await setGrants(db, user.login, body.keys, admin.login);
      return viewOf(db, user.login);
    });
    console.log(`edge: user ${view.login} changed by ${admin.login} (${Object.keys(body).join(', ')})`);
    return c.json(view);
  });

  return app;
}
