// Local mode's admin account: made once per data dir with a generated password in a 0600 file; later starts keep it.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createClient, type Client } from '@libsql/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyPassword } from '../../shared/auth/password.js';
import { migrate } from '../../shared/db/migrate.js';
import { findUser } from '../../shared/db/users.js';
import { ensureLocalAdmin } from '../../local/admin-account.js';

const dir = mkdtempSync(join(tmpdir(), 'netpoke-admin-'));
let db: Client;

beforeAll(async () => {
  db = createClient({ url: pathToFileURL(join(dir, 'netpoke.db')).href });
  await migrate(db);
});
afterAll(() => {
  db?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('local admin', () => {
  it('is created once, with its password in a file only the owner can read', async () => {
    const first = await ensureLocalAdmin(db, dir);
    expect(first).toMatchObject({ login: 'admin', created: true, passwordFile: join(dir, 'admin-password') });
    expect(statSync(first.passwordFile).mode & 0o777).toBe(0o600);
    const user = await findUser(db, 'admin');
    expect(user?.role).toBe('admin');
    expect((await verifyPassword(first.password!, user!.password_hash)).ok).toBe(true);

    const again = await ensureLocalAdmin(db, dir);
    expect(again).toMatchObject({ created: false, password: first.password });
    expect((await findUser(db, 'admin'))!.password_hash).toBe(user!.password_hash);
  });
});
