// /console/login: password form, one link per sign-in provider, and the reason a provider sign-in failed (from ?error=&message=).
import { api, endSentence, errorWords } from './api.js';
import { busy, h, say } from './dom.js';
import { navigate, safeReturnTo } from './navigate.js';
import { LoginAnswerSchema, ProvidersSchema } from './schemas.js';

/** Draws the login page into `root`. */
export function loginView(root: HTMLElement): void {
  const params = new URLSearchParams(location.search);
  const returnTo = safeReturnTo(params.get('return_to'));
  const login = h('input', { id: 'login', name: 'login', autocomplete: 'username', autocapitalize: 'none', spellcheck: 'false', required: true });
  const password = h('input', { id: 'password', name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const error = h('p', { id: 'login-error', class: 'status', role: 'alert' });
  const providers = h('div', { id: 'providers', class: 'providers' });
  const form = h(
    'form',
    { id: 'login-form', class: 'panel form', novalidate: true },
    h('h2', {}, 'Log in'),
    h('label', { for: 'login' }, 'Login or e-mail'),
    login,
    h('label', { for: 'password' }, 'Password'),
    password,
    h('div', { class: 'row buttons' }, h('button', { id: 'login-submit', type: 'submit', class: 'primary' }, 'Log in')),
    error,
    providers,
  );
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    if (!login.value.trim() || !password.value) return say(error, 'Type your login and your password.', 'error');
    say(error, 'Logging in…');
    void busy(form, async () => {
      try {
        await api('POST', '/api/auth/login', LoginAnswerSchema, { login: login.value.trim(), password: password.value });
        navigate(returnTo, true);
      } catch (err) {
        say(error, errorWords(err), 'error');
        password.select();
      }
    });
  });
  root.replaceChildren(form);
  // A provider sign-in that failed comes back here with its reason.
  const failed = params.get('error');
  if (failed) say(error, `Signing in did not work: ${endSentence(params.get('message') ?? failed)} Try again, or ask an admin for an account.`, 'error');
  login.focus();
  void showProviders(providers, returnTo);
}

/** One plain link per configured provider (the edge runs the whole OpenID flow). */
async function showProviders(box: HTMLElement, returnTo: string): Promise<void> {
  let list: { id: string; name: string }[];
  try {
    list = await api('GET', '/api/auth/providers', ProvidersSchema);
  } catch {
    return; // Password login still works; nothing to add.
  }
  if (!list.length) return;
  box.append(
    h('p', { class: 'muted' }, 'Or sign in with'),
    ...list.map((p) =>
      h('a', { class: 'button', 'data-provider': p.id, href: `/api/auth/oidc/start?${new URLSearchParams({ provider: p.id, return_to: returnTo })}` }, p.name),
    ),
  );
}
