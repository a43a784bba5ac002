// /console: where to go (keys, users for admins) and one's own account (password, other sessions).
import { api, errorWords } from './api.js';
import { busy, h, say } from './dom.js';
import { LogoutEverywhereSchema, type MeView } from './schemas.js';

/** Draws the console home into `root`. */
export function homeView(root: HTMLElement, me: MeView): void {
  const card = (href: string, title: string, text: string) => h('a', { class: 'panel card', href, 'data-testid': `go-${href.split('/').pop()}` }, h('h2', {}, title), h('p', { class: 'muted' }, text));
  root.replaceChildren(
    h(
      'nav',
      { class: 'cards', 'aria-label': 'Console sections' },
      card('/console/keys', 'Keys', 'Create magic-key links with QR codes for technicians; see how they are used; revoke them.'),
      me.role === 'admin' ? card('/console/users', 'Users', 'Create accounts, set roles, grant keys, disable, reset passwords.') : null,
    ),
    accountPanel(me),
  );
}

function accountPanel(me: MeView): HTMLElement {
  const current = h('input', { id: 'current-password', type: 'password', autocomplete: 'current-password', required: true });
  const next = h('input', { id: 'new-password', type: 'password', autocomplete: 'new-password', minlength: 10, required: true });
  const status = h('p', { id: 'account-status', class: 'status', role: 'status', 'aria-live': 'polite' });
  const form = h(
    'form',
    { id: 'password-form', class: 'form' },
    h('h3', {}, 'Change password'),
    h('label', { for: 'current-password' }, 'Current password'),
    current,
    h('label', { for: 'new-password' }, 'New password (at least 10 characters)'),
    next,
    h('div', { class: 'row buttons' }, h('button', { id: 'change-password', type: 'submit' }, 'Change password')),
  );
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    void busy(form, async () => {
      try {
        await api('POST', '/api/auth/password', null, { current_password: current.value, new_password: next.value });
        form.reset();
        say(status, 'Password changed. Your other sessions have been logged out.', 'ok');
      } catch (err) {
        say(status, errorWords(err, { login_failed: 'The current password is wrong. Type it again.' }), 'error');
      }
    });
  });
  const everywhere = h('button', { id: 'logout-everywhere', type: 'button' }, 'Log out everywhere else');
  everywhere.addEventListener('click', () => {
    void busy(everywhere, async () => {
      try {
        const { ended_sessions: n } = await api('POST', '/api/auth/logout-everywhere', LogoutEverywhereSchema);
        say(status, n ? `Logged out of ${n} other session${n === 1 ? '' : 's'}.` : 'There were no other sessions.', 'ok');
      } catch (err) {
        say(status, errorWords(err), 'error');
      }
    });
  });
  return h(
    'section',
    { class: 'panel', 'aria-label': 'Your account' },
    h('h2', {}, 'Your account'),
    h('p', { class: 'muted' }, `Logged in as ${me.login} (${me.role}).`),
    form,
    h('div', { class: 'row buttons' }, everywhere),
    status,
  );
}
