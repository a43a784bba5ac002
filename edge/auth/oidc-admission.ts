// Who may log in with an identity from a sign-in provider, and as which login.
import type { Db } from '../../shared/db/client.js';
import { LoginSchema } from '../../shared/protocol/accounts.js';
import { bindIdentity, createUser, findIdentity, findUser, findUserByEmail, type User } from '../../shared/db/users.js';
import { HttpError } from '../errors.js';
import type { ProviderIdentity } from './oidc-client.js';

const refused = (message: string) => new HttpError('login_failed', message);

/**
 * The login an identity signs in as: the one it is already bound to; else
 * the user an admin created with its verified e-mail as login or e-mail
 * (bound now), but only an analyst without a password, since binding a
 * password or admin login on a provider's word would make the weakest
 * configured provider a way into it (their owners link it while logged in,
 * linkIdentity); else, when the e-mail's domain is allowed, a new analyst
 * with no keys (bound now). Anyone else, and disabled users, are refused.
 */
export async function admitIdentity(db: Db, id: ProviderIdentity, allowedDomains: readonly string[], providerId: string, now = Date.now()): Promise<User> {
  const bound = await findIdentity(db, id.issuer, id.subject);
  if (bound !== null) return usable(await findUser(db, bound));

  if (!id.email || !id.emailVerified) throw refused('your sign-in provider did not confirm an e-mail address for you; verify your e-mail there, or ask an admin to create your login');
  const existing = await findUserByEmail(db, id.email);
  if (existing) {
    usable(existing);
    if (existing.role === 'admin' || existing.password_hash !== null) {
      throw refused(
        `${id.email} belongs to ${existing.role === 'admin' ? 'an admin login' : 'a login with a password'}, which a sign-in provider is not trusted to open on its own; log in with the password and link this sign-in on your Account page`,
      );
    }
    await bindIdentity(db, id.issuer, id.subject, existing.login, id.email, now);
    return existing;
  }

  const domain = id.email.slice(id.email.lastIndexOf('@') + 1);
  if (!allowedDomains.includes(domain)) throw refused(`${id.email} has no login here; ask an admin to create your login`);
  const login = LoginSchema.safeParse(id.email);
  if (!login.success) throw refused(`${id.email} cannot be a login here; ask an admin to create your login`);
  // A login taken in between (two first sign-ins at once) is found again below.
  await createUser(db, { login: login.data, role: 'analyst', email: id.email, createdBy: `oidc:${providerId}` }, now);
  const created = usable(await findUser(db, login.data));
  await bindIdentity(db, id.issuer, id.subject, created.login, id.email, now);
  return created;
}

/**
 * Binds an identity to the login of the person who asked for it while logged
 * in (the Account page's "Link a sign-in"). An identity already bound to
 * another login stays there; one bound to this login is linked already.
 */
export async function linkIdentity(db: Db, id: ProviderIdentity, login: string, providerName: string, now = Date.now()): Promise<void> {
  let owner = await findIdentity(db, id.issuer, id.subject);
  if (owner === null) {
    await bindIdentity(db, id.issuer, id.subject, login, id.email, now);
    // Read again: a link made in between by someone else wins the insert, and must not be reported as ours.
    owner = await findIdentity(db, id.issuer, id.subject);
  }
  if (owner?.toLowerCase() !== login.toLowerCase()) throw refused(`this ${providerName} sign-in already belongs to another login, so it was not linked to ${login}`);
}

/** The user, unless it is gone or disabled. */
function usable(user: User | null): User {
  if (!user) throw refused('the login this identity belonged to no longer exists; ask an admin to create your login');
  if (user.disabled_at !== null) throw refused('this account is disabled; ask an admin to enable it');
  return user;
}
