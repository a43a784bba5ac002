// /console/users (admin): create people, change role, grant and withdraw keys, disable or enable, reset passwords.
import { api, errorWords } from './api.js';
import { busy, h, say } from './dom.js';
import { when } from './format.js';
import { KeyListSchema, UserListSchema, UserSchema, type KeyView, type MeView, type UserView } from './schemas.js';

/** A password to hand over: 16 random base64url characters (96 bits). */
export function generatePassword(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_');
}

/** Draws the users page into `root` (admins only) and loads users and keys. */
export async function usersView(root: HTMLElement, me: MeView): Promise<void> {
  if (me.role !== 'admin') {
    root.replaceChildren(h('section', { class: 'panel' }, h('h2', {}, 'Users'), h('p', { class: 'status', 'data-kind': 'error' }, 'Only an admin can manage users. '), h('a', { href: '/console' }, 'Back to the console')));
    return;
  }
  const list = h('ul', { id: 'user-list', class: 'card-list' });
  const listStatus = h('p', { id: 'user-list-status', class: 'status', role: 'status', 'aria-live': 'polite' });
  const formSlot = h('div');
  const refresh = async () => {
    try {
      const [users, keys] = await Promise.all([api('GET', '/api/users', UserListSchema), api('GET', '/api/keys', KeyListSchema)]);
      if (!formSlot.firstChild) formSlot.append(createForm(keys, refresh));
      else formSlot.querySelector('#user-keys')?.replaceWith(keyChoices(keys, new Set(), 'user-keys', 'user-keys'));
      list.replaceChildren(...users.map((u) => userCard(u, keys, me)));
      say(listStatus, users.length ? '' : 'No users yet.');
    } catch (err) {
      say(listStatus, errorWords(err), 'error');
    }
  };
  root.replaceChildren(formSlot, h('section', { class: 'panel', 'aria-label': 'Users' }, h('h2', {}, 'Users'), listStatus, list));
  await refresh();
}

/** Checkboxes of keys (value = key_id), `checked` ticked; revoked and expired keys say so. */
function keyChoices(keys: KeyView[], checked: Set<string>, testid: string, id?: string): HTMLFieldSetElement {
  return h(
    'fieldset',
    { class: 'key-choices', 'data-testid': testid, id },
    h('legend', {}, 'Keys whose surveys they may see'),
    ...(keys.length
      ? keys.map((k) =>
          h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'keys', value: k.key_id, checked: checked.has(k.key_id) }), `${k.label}${k.status === 'active' ? '' : ` (${k.status})`}`),
        )
      : [h('p', { class: 'muted' }, 'No keys yet: create them on the Keys page.')]),
  );
}

const tickedKeys = (scope: HTMLElement) => [...scope.querySelectorAll<HTMLInputElement>('input[name=keys]:checked')].map((c) => c.value);

function roleSelect(attrs: Record<string, string>, role: UserView['role'] = 'analyst'): HTMLSelectElement {
  return h('select', attrs, h('option', { value: 'analyst', selected: role === 'analyst' }, 'Analyst (surveys of granted keys)'), h('option', { value: 'admin', selected: role === 'admin' }, 'Admin (everything)'));
}

/** What to tell the admin who just created a user: the password to hand over, or how the person will get in. */
function createdWords(login: string, role: string, password: string): string {
  if (password) return `User ${login} created. Give them their password privately (it is not shown again): ${password}`;
  // A provider alone never opens an admin login (issue 18): it is linked from the Account page after a password login.
  if (role === 'admin') return `User ${login} created without a password. A sign-in provider alone does not open an admin login: give them a password, or let them sign in once as an analyst and then make them admin.`;
  return `User ${login} created; they sign in with a provider.`;
}

function createForm(keys: KeyView[], refresh: () => Promise<void>): HTMLFormElement {
  const login = h('input', { id: 'user-login', name: 'login', required: true, autocomplete: 'off', autocapitalize: 'none', spellcheck: 'false' });
  const role = roleSelect({ id: 'user-role', name: 'role' });
  const email = h('input', { id: 'user-email', name: 'email', type: 'email', autocomplete: 'off' });
  const password = h('input', { id: 'user-password', name: 'password', autocomplete: 'new-password', spellcheck: 'false' });
  const generate = h('button', { id: 'generate-password', type: 'button', onclick: () => (password.value = generatePassword()) }, 'Generate');
  const status = h('p', { id: 'create-user-status', class: 'status', role: 'status', 'aria-live': 'polite' });
  const form = h(
    'form',
    { id: 'create-user-form', class: 'panel form', novalidate: true },
    h('h2', {}, 'New user'),
    h('label', { for: 'user-login' }, 'Login'),
    login,
    h('label', { for: 'user-role' }, 'Role'),
    role,
    h('label', { for: 'user-email' }, 'E-mail (optional; lets an analyst without a password sign in with a provider that gives this address)'),
    email,
    h('label', { for: 'user-password' }, 'Password (at least 10 characters; empty: sign-in with a provider only)'),
    h('div', { class: 'row inline' }, password, generate),
    keyChoices(keys, new Set(), 'user-keys', 'user-keys'),
    h('div', { class: 'row buttons' }, h('button', { id: 'create-user', type: 'submit', class: 'primary' }, 'Create user')),
    status,
  );
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    if (!login.value.trim()) return say(status, 'Type a login for the new user.', 'error');
    const pw = password.value;
    void busy(form, async () => {
      try {
        const user = await api('POST', '/api/users', UserSchema, {
          login: login.value.trim(),
          role: role.value,
          ...(pw ? { password: pw } : {}),
          ...(email.value.trim() ? { email: email.value.trim() } : {}),
          keys: tickedKeys(form),
        });
        form.reset();
        say(status, createdWords(user.login, user.role, pw), 'ok');
        await refresh();
      } catch (err) {
        say(status, errorWords(err), 'error');
      }
    });
  });
  return form;
}

/** One user: facts, role and keys (saved together), disable/enable, and a password reset. */
function userCard(u: UserView, keys: KeyView[], me: MeView, message = ''): HTMLElement {
  const status = h('p', { class: 'status', role: 'status', 'aria-live': 'polite', 'data-testid': 'user-message' });
  if (message) say(status, message, 'ok');
  const labels = new Map(keys.map((k) => [k.key_id, k.label]));
  /** Sends a change; the card is redrawn from the answer with `done` as its message. */
  const patch = (scope: HTMLElement, body: Record<string, unknown>, done: (u: UserView) => string) =>
    busy(scope, async () => {
      try {
        const updated = await api('PATCH', `/api/users/${encodeURIComponent(u.login)}`, UserSchema, body);
        card.replaceWith(userCard(updated, keys, me, done(updated)));
      } catch (err) {
        say(status, errorWords(err), 'error');
      }
    });

  const role = roleSelect({ 'data-testid': 'user-role' }, u.role);
  const granted = keyChoices(keys, new Set(u.keys), 'granted-keys');
  // Admins see every key: their grants are kept but not offered for editing.
  const showGrants = () => (granted.hidden = role.value === 'admin');
  role.addEventListener('change', showGrants);
  showGrants();
  const edit = h('form', { class: 'form', 'data-testid': 'user-edit' }, h('label', {}, 'Role', role), granted, h('div', { class: 'row buttons' }, h('button', { type: 'submit', 'data-testid': 'save-user' }, 'Save role and keys')));
  edit.addEventListener('submit', (ev) => {
    ev.preventDefault();
    void patch(edit, { role: role.value, ...(role.value === 'admin' ? {} : { keys: tickedKeys(edit) }) }, (x) => (x.role === 'admin' ? `Saved: ${x.login} is an admin (every key).` : `Saved: ${x.login} is an analyst with ${x.keys.length} key${x.keys.length === 1 ? '' : 's'}.`));
  });

  const toggle = h('button', { type: 'button', 'data-testid': 'toggle-disabled', class: u.disabled ? '' : 'danger' }, u.disabled ? 'Enable' : 'Disable');
  toggle.addEventListener('click', () => void patch(toggle, { disabled: !u.disabled }, (x) => (x.disabled ? `${x.login} is disabled and logged out everywhere.` : `${x.login} may log in again.`)));

  const newPassword = h('input', { 'data-testid': 'new-password', 'aria-label': `New password for ${u.login}`, autocomplete: 'new-password', spellcheck: 'false' });
  const setPassword = h('button', { type: 'submit', class: 'primary', 'data-testid': 'set-password' }, 'Set password');
  const reset = h('form', { class: 'form', 'data-testid': 'reset-form', hidden: true }, h('p', { class: 'muted' }, `A new password for ${u.login}; their sessions end.`), h('div', { class: 'row inline' }, newPassword, setPassword));
  reset.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const pw = newPassword.value;
    void patch(reset, { password: pw }, (x) => `New password for ${x.login} (give it to them privately; it is not shown again): ${pw}`);
  });
  const openReset = h('button', { type: 'button', 'data-testid': 'reset-password', 'aria-expanded': 'false' }, 'Reset password…');
  openReset.addEventListener('click', () => {
    reset.hidden = !reset.hidden;
    openReset.setAttribute('aria-expanded', String(!reset.hidden));
    if (!reset.hidden) {
      newPassword.value = generatePassword();
      newPassword.select();
    }
  });

  const row = (term: string, value: string) => [h('dt', {}, term), h('dd', {}, value)];
  const card = h(
    'li',
    { class: 'panel user-card', 'data-login': u.login, 'data-disabled': String(u.disabled) },
    h(
      'div',
      { class: 'card-head' },
      h('h3', {}, u.login, u.login.toLowerCase() === me.login.toLowerCase() ? ' (you)' : ''),
      h('span', { class: 'badge', 'data-testid': 'user-role-badge' }, u.role),
      u.disabled ? h('span', { class: 'badge', 'data-status': 'revoked', 'data-testid': 'user-disabled' }, 'disabled') : null,
    ),
    h(
      'dl',
      { class: 'facts' },
      ...row('E-mail', u.email ?? '—'),
      ...row('Password', u.has_password ? 'set' : 'none (provider sign-in only)'),
      ...row('Created', when(u.created_at)),
      ...row('Last login', when(u.last_login_at, 'never')),
      ...row('Keys', u.role === 'admin' ? 'all (admin)' : u.keys.map((id) => labels.get(id) ?? id).join(', ') || 'none'),
    ),
    edit,
    h('div', { class: 'row buttons' }, toggle, openReset),
    reset,
    status,
  );
  return card;
}
