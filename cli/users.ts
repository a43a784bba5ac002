// `npm run users -- create --login ana --role analyst [--keys <key_id>,…] [--email e] [--password-stdin]`,
// `passwd --login ana [--password-stdin]`, `disable|enable --login ana`, `grant|withdraw (alias revoke-grant) --login ana --keys …`,
// `list [--json]`: console accounts, in the database named by LIBSQL_URL, else the local file.
import * as z from 'zod';
import { generatePassword, hashPassword } from '../shared/auth/password.js';
import type { ConfigError } from '../shared/config.js';
import { closeUserSessions } from '../shared/db/auth-sessions.js';
import type { Db } from '../shared/db/client.js';
import { missingKeyIds } from '../shared/db/keys.js';
import { withBusyRetry } from '../shared/db/migrate.js';
import { createUser, findUser, grantedKeyIds, listUsers, setGrants, updateUser } from '../shared/db/users.js';
import { KeyIdSchema, LoginSchema, PasswordSchema, RoleSchema } from '../shared/protocol/accounts.js';
import { parse, runCli, validate } from './args.js';
import { cliEnv, withCliDb, type CliEnv } from './cli-db.js';

const USAGE = `usage:
  npm run users -- create --login ana --role analyst|admin [--keys <key_id>,…] [--email ana@example.org] [--password-stdin]
  npm run users -- passwd --login ana [--password-stdin]
  npm run users -- disable --login ana        (ends the user's sessions)
  npm run users -- enable --login ana
  npm run users -- grant --login ana --keys <key_id>,…
  npm run users -- withdraw --login ana --keys <key_id>,…   (also: revoke-grant)
  npm run users -- list [--json]
Without --password-stdin a password is generated and printed once. key_ids are in \`npm run keys -- list\` and the console.`;

const KeyListSchema = z
  .string()
  .transform((s) => s.split(',').map((k) => k.trim()).filter(Boolean))
  .pipe(z.array(KeyIdSchema).min(1, 'list at least one key_id'));

const LoginArgs = z.object({ login: LoginSchema });
const CreateArgs = z.object({ login: LoginSchema, role: RoleSchema, keys: KeyListSchema.optional(), email: z.email().optional(), 'password-stdin': z.boolean() });
const GrantArgs = z.object({ login: LoginSchema, keys: KeyListSchema });

async function readStdinPassword(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
  return validate(PasswordSchema, text, 'password (stdin): ');
}

/** Refuses key_ids that name no key, before anything changes. */
async function assertKeys(db: Db, keyIds: readonly string[]): Promise<void> {
  const missing = await missingKeyIds(db, keyIds);
  if (missing.length) throw new Error(`no key ${missing.join(', ')} (see npm run keys -- list)`);
}

async function mustFind(db: Db, login: string) {
  const user = await findUser(db, login);
  if (!user) throw new Error(`no user ${login}`);
  return user;
}

async function create(db: Db, args: string[]): Promise<number> {
  const { values } = parse(args, { login: { type: 'string' }, role: { type: 'string' }, keys: { type: 'string' }, email: { type: 'string' }, 'password-stdin': { type: 'boolean', default: false } });
  const a = validate(CreateArgs, values, '--');
  if (a.keys) await assertKeys(db, a.keys);
  const password = a['password-stdin'] ? await readStdinPassword() : generatePassword();
  if (!(await withBusyRetry(async () => createUser(db, { login: a.login, role: a.role, passwordHash: await hashPassword(password), email: a.email ?? null })))) {
    throw new Error(`login ${a.login} is taken`);
  }
  if (a.keys) await setGrants(db, a.login, a.keys, null);
  console.log(`created ${a.role} ${a.login}${a.keys ? ` with keys ${a.keys.join(', ')}` : ''}`);
  if (!a['password-stdin']) console.log(`  password  ${password}   (shown once; change it in the console)`);
  return 0;
}

async function passwd(db: Db, args: string[]): Promise<number> {
  const { values } = parse(args, { login: { type: 'string' }, 'password-stdin': { type: 'boolean', default: false } });
  const a = validate(LoginArgs.extend({ 'password-stdin': z.boolean() }), values, '--');
  const user = await mustFind(db, a.login);
  const password = a['password-stdin'] ? await readStdinPassword() : generatePassword();
  await updateUser(db, user.login, { passwordHash: await hashPassword(password) });
  const ended = await closeUserSessions(db, user.login);
  console.log(`password of ${user.login} changed; ${ended} session(s) ended`);
  if (!a['password-stdin']) console.log(`  password  ${password}   (shown once)`);
  return 0;
}

const setDisabled = (disabled: boolean) => async (db: Db, args: string[]) => {
  const { values } = parse(args, { login: { type: 'string' } });
  const user = await mustFind(db, validate(LoginArgs, values, '--').login);
  await updateUser(db, user.login, { disabled });
  console.log(`${user.login} ${disabled ? 'disabled (its sessions ended)' : 'enabled'}`);
  return 0;
};

const changeGrants = (add: boolean) => async (db: Db, args: string[]) => {
  const { values } = parse(args, { login: { type: 'string' }, keys: { type: 'string' } });
  const a = validate(GrantArgs, values, '--');
  const user = await mustFind(db, a.login);
  if (add) await assertKeys(db, a.keys);
  const now = await grantedKeyIds(db, user.login);
  const next = add ? [...new Set([...now, ...a.keys])] : now.filter((k) => !a.keys.includes(k));
  await setGrants(db, user.login, next, null);
  console.log(`${user.login} now has keys: ${next.length ? next.join(', ') : 'none'}`);
  return 0;
};

async function list(db: Db, args: string[]): Promise<number> {
  const { values } = parse(args, { json: { type: 'boolean', default: false } });
  const users = await listUsers(db);
  if (values.json) {
    console.log(JSON.stringify(users));
    return 0;
  }
  if (!users.length) {
    console.log('no users yet: npm run users -- create --login ana --role analyst');
    return 0;
  }
  const date = (ms: number | null) => (ms === null ? '-' : new Date(ms).toISOString().slice(0, 16).replace('T', ' '));
  const rows = [['LOGIN', 'ROLE', 'STATE', 'KEYS', 'LAST LOGIN'], ...users.map((u) => [u.login, u.role, u.disabled ? 'disabled' : 'active', u.keys.join(',') || '-', date(u.last_login_at)])];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const r of rows) console.log(r.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd());
  return 0;
}

async function main(argv: string[]): Promise<number> {
  let env: CliEnv;
  try {
    env = cliEnv();
  } catch (e) {
    console.error(`users: ${(e as ConfigError).message}`);
    return 2;
  }
  const on = (fn: (db: Db, args: string[]) => Promise<number>) => (rest: string[]) => withCliDb(env, (db) => fn(db, rest));
  return runCli('users', USAGE, argv, {
    create: on(create),
    passwd: on(passwd),
    disable: on(setDisabled(true)),
    enable: on(setDisabled(false)),
    grant: on(changeGrants(true)),
    withdraw: on(changeGrants(false)),
    'revoke-grant': on(changeGrants(false)),
    list: on(list),
  });
}

process.exitCode = await main(process.argv.slice(2));
