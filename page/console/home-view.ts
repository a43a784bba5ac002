// /console/account: where to go (keys, users for admins) and one's own account (password, other sessions, linked sign-ins).
import { api, errorWords } from './api.js';
import { busy, h, say } from './dom.js';
import { LinkStartSchema, LogoutEverywhereSchema, ProvidersSchema, type MeView } from './schemas.js';

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
    signInsPanel(),
  );
}

/**
 * "Link a sign-in": one button per provider. The edge binds the identity the provider vouches for to this login
 * (it never does so on the provider's word alone for a login with a password, or an admin's), and sends the
 * browser back here with `?linked=<provider>`.
 */
function signInsPanel(): HTMLElement {
  const buttons = h('div', { class: 'row buttons' });
  const status = h('p', { id: 'link-status', class: 'status', role: 'status', 'aria-live': 'polite' });
  const panel = h(
    'section',
    { id: 'sign-ins', class: 'panel', 'aria-label': 'Sign-ins', hidden: true },
    h('h2', {}, 'Link a sign-in'),
    h('p', { class: 'muted' }, 'Sign in with a provider once from here, and it will log you in to this account from then on.'),
    buttons,
    status,
  );
  void (async () => {
    let providers: { id: string; name: string }[];
    try {
      providers = await api('GET', '/api/auth/providers', ProvidersSchema);
    } catch {
      return; // No providers to offer: the panel stays hidden.
    }
    if (!providers.length) return;
    const linked = providers.find((p) => p.id === new URLSearchParams(location.search).get('linked'));
    if (linked) say(status, `Your ${linked.name} sign-in is linked: you can now log in with it.`, 'ok');
    buttons.replaceChildren(...providers.map((p) => linkButton(p, status)));
    panel.hidden = false;
  })();
  return panel;
}

function linkButton(p: { id: string; name: string }, status: HTMLElement): HTMLButtonElement {
  const button = h('button', { type: 'button', 'data-link-provider': p.id }, `Link ${p.name}`);
  button.addEventListener('click', () => {
    void busy(button, async () => {
      try {
        const { url } = await api('POST', '/api/auth/oidc/link', LinkStartSchema, { provider: p.id });
        location.assign(url);
      } catch (err) {
        say(status, errorWords(err), 'error');
      }
    });
  });
  return button;
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
