// Local mode's `admin` account (PROTOCOL.md §5): created once per data directory with a generated password,
// kept in the data dir (mode 0600) and printed with the console's URL.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { generatePassword, hashPassword } from '../shared/auth/password.js';
import type { Db } from '../shared/db/client.js';
import { createUser, findUser } from '../shared/db/users.js';
import { writeSecretFile } from './secrets.js';

export const LOCAL_ADMIN = 'admin';

export interface LocalAdmin {
  login: string;
  /** The generated password, as kept in the file (null if the file is gone). */
  password: string | null;
  passwordFile: string;
  /** Made by this call (first start in this data dir). */
  created: boolean;
}

/** Creates the local admin on the first start in `dataDir`; later starts read back the password file. */
export async function ensureLocalAdmin(db: Db, dataDir: string): Promise<LocalAdmin> {
  const passwordFile = join(dataDir, 'admin-password');
  if (await findUser(db, LOCAL_ADMIN)) {
    const password = existsSync(passwordFile) ? readFileSync(passwordFile, 'utf8').trim() || null : null;
    return { login: LOCAL_ADMIN, password, passwordFile, created: false };
  }
  const password = generatePassword();
  // The file first: an account whose password was never written down would lock the owner out.
  writeSecretFile(passwordFile, `${password}\n`);
  await createUser(db, { login: LOCAL_ADMIN, role: 'admin', passwordHash: await hashPassword(password), createdBy: 'npm start' });
  return { login: LOCAL_ADMIN, password, passwordFile, created: true };
}
