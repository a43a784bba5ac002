// /console/keys: create a magic key (label, lifetime, limits) and hand out its link and QR code; list keys with status, limits and use; revoke.
import { api, errorWords } from './api.js';
import { busy, h, say } from './dom.js';
import { duration, when } from './format.js';
import { KeyDefaultsSchema, KeyListSchema, KeySchema, type KeyView, type MeView } from './schemas.js';
import { shareBox } from './share-box.js';

const DAY_S = 86_400;
const LIFETIMES: [string, string][] = [
  [String(DAY_S), '1 day'],
  [String(7 * DAY_S), '7 days'],
  [String(30 * DAY_S), '30 days'],
  [String(90 * DAY_S), '90 days'],
  ['', 'No expiry'],
];
const STATUS_WORDS: Record<KeyView['status'], string> = { active: 'Active', expired: 'Expired', revoked: 'Revoked' };

/** Draws the keys page into `root` and loads the list. */
export async function keysView(root: HTMLElement, me: MeView): Promise<void> {
  const list = h('ul', { id: 'key-list', class: 'card-list' });
  const listStatus = h('p', { id: 'key-list-status', class: 'status', role: 'status', 'aria-live': 'polite' });
  const created = h('section', { id: 'created-key', class: 'panel', 'aria-label': 'New key', hidden: true });
  /** Reloads the list; `done` is what to say above it once drawn (a change just made). */
  const refresh = async (done = '') => {
    try {
      const keys = await api('GET', '/api/keys', KeyListSchema);
      list.replaceChildren(...keys.map((k) => keyCard(k, me, refresh)));
      if (done) say(listStatus, done, 'ok');
      else say(listStatus, keys.length ? '' : 'No keys yet. Create one above.');
    } catch (err) {
      say(listStatus, errorWords(err), 'error');
    }
  };
  const onCreated = (k: KeyView) => {
    created.replaceChildren(h('h2', {}, `Key “${k.label}” is ready`), shareBox(k.share_link, k.label, true));
    created.hidden = false;
    created.scrollIntoView({ block: 'nearest' });
    document.getElementById('copy-link')?.focus();
    void refresh();
  };
  const form = createForm(onCreated);
  root.replaceChildren(form.element, created, h('section', { class: 'panel', 'aria-label': 'Keys' }, h('h2', {}, 'Keys'), listStatus, list));
  await Promise.all([refresh(), showDefaults(form)]);
}

/** A whole number from an optional field: null when empty, NaN when not a positive whole number. */
function optionalCount(input: HTMLInputElement): number | null {
  const v = input.value.trim();
  if (!v) return null;
  return /^\d+$/.test(v) && Number(v) > 0 ? Number(v) : NaN;
}

/** The new-key form and the parts its defaults are shown in. */
interface KeyForm {
  element: HTMLFormElement;
  sessions: HTMLInputElement;
  sessionsLabel: HTMLLabelElement;
}

/** Fills the limits a key gets without them into the form, so its creator sees them (and a reset keeps them). */
async function showDefaults(form: KeyForm): Promise<void> {
  let max: number | null;
  try {
    ({ max_concurrent_sessions: max } = await api('GET', '/api/keys/defaults', KeyDefaultsSchema));
  } catch {
    return; // The edge applies its default anyway; the form just does not show it.
  }
  form.sessions.defaultValue = max === null ? '' : String(max);
  form.sessionsLabel.textContent = `Surveys at the same time (empty: ${max === null ? 'no limit' : `the default, ${max}`})`;
}

function createForm(onCreated: (k: KeyView) => void): KeyForm {
  const label = h('input', { id: 'key-label', name: 'label', maxlength: 120, required: true, autocomplete: 'off', placeholder: 'e.g. Site visit, 3rd floor' });
  const ttl = h('select', { id: 'key-ttl', name: 'ttl' }, ...LIFETIMES.map(([v, text]) => h('option', { value: v, selected: v === String(7 * DAY_S) }, text)));
  const minutes = h('input', { id: 'key-max-minutes', name: 'max_minutes', type: 'number', min: 1, step: 1, inputmode: 'numeric' });
  const sessions = h('input', { id: 'key-max-sessions', name: 'max_sessions', type: 'number', min: 1, step: 1, inputmode: 'numeric' });
  const sessionsLabel = h('label', { for: 'key-max-sessions' }, 'Surveys at the same time');
  const status = h('p', { id: 'create-key-status', class: 'status', role: 'status', 'aria-live': 'polite' });
  const form = h(
    'form',
    { id: 'create-key-form', class: 'panel form', novalidate: true },
    h('h2', {}, 'New key'),
    h('label', { for: 'key-label' }, 'Label (who or where it is for)'),
    label,
    h('label', { for: 'key-ttl' }, 'Lifetime'),
    ttl,
    h('label', { for: 'key-max-minutes' }, 'Measuring time limit in minutes (empty: no limit)'),
    minutes,
    sessionsLabel,
    sessions,
    h('div', { class: 'row buttons' }, h('button', { id: 'create-key', type: 'submit', class: 'primary' }, 'Create key')),
    status,
  );
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const maxMinutes = optionalCount(minutes);
    const maxSessions = optionalCount(sessions);
    if (!label.value.trim()) return say(status, 'Give the key a label, so you know later who it was for.', 'error');
    if (Number.isNaN(maxMinutes)) return say(status, 'The measuring time limit must be a whole number of minutes, or empty.', 'error');
    if (Number.isNaN(maxSessions)) return say(status, 'The number of surveys at the same time must be a whole number, or empty for the default.', 'error');
    void busy(form, async () => {
      try {
        const key = await api('POST', '/api/keys', KeySchema, {
          label: label.value.trim(),
          ...(ttl.value ? { ttl_s: Number(ttl.value) } : {}),
          ...(maxMinutes !== null ? { max_measuring_ms: maxMinutes * 60_000 } : {}),
          ...(maxSessions !== null ? { max_concurrent_sessions: maxSessions } : {}),
        });
        form.reset();
        say(status, '');
        onCreated(key);
      } catch (err) {
        say(status, errorWords(err), 'error');
      }
    });
  });
  return { element: form, sessions, sessionsLabel };
}

const mayRevoke = (k: KeyView, me: MeView) => k.status === 'active' && (me.role === 'admin' || k.created_by?.toLowerCase() === me.login.toLowerCase());

function facts(k: KeyView): HTMLElement {
  const row = (term: string, value: string | Node) => [h('dt', {}, term), h('dd', {}, value)];
  return h(
    'dl',
    { class: 'facts' },
    ...row('Created', `${when(k.created_at)}${k.created_by ? ` by ${k.created_by}` : ''}`),
    ...(k.revoked_at !== null ? row('Revoked', when(k.revoked_at)) : row(k.status === 'expired' ? 'Expired' : 'Expires', when(k.expires_at, 'never'))),
    ...row('Measuring limit', k.max_measuring_ms === null ? 'none' : duration(k.max_measuring_ms)),
    ...row('At the same time', k.max_concurrent_sessions === null ? 'no limit' : String(k.max_concurrent_sessions)),
    ...row('Surveys', h('span', { 'data-testid': 'survey-count' }, String(k.survey_count))),
    ...row('Last used', when(k.last_used_at, 'never')),
    ...row('Key id', h('code', {}, k.key_id)),
  );
}

/** One key: its facts, "Show link / QR" for active keys, and Revoke behind a confirmation. */
function keyCard(k: KeyView, me: MeView, refresh: (done: string) => Promise<void>): HTMLElement {
  const status = h('p', { class: 'status', role: 'status', 'aria-live': 'polite', 'data-testid': 'key-message' });
  const shareId = `share-${k.key_id}`;
  const share = h('div', { id: shareId, hidden: true });
  const buttons = h('div', { class: 'row buttons' });
  if (k.status === 'active') {
    const toggle = h('button', { type: 'button', 'data-testid': 'toggle-link', 'aria-expanded': 'false', 'aria-controls': shareId }, 'Show link / QR');
    toggle.addEventListener('click', () => {
      if (!share.firstChild) share.append(shareBox(k.share_link, k.label));
      share.hidden = !share.hidden;
      toggle.setAttribute('aria-expanded', String(!share.hidden));
      toggle.textContent = share.hidden ? 'Show link / QR' : 'Hide link / QR';
    });
    buttons.append(toggle);
  }
  const confirm = h('div', { class: 'confirm', 'data-testid': 'revoke-confirm', role: 'group', 'aria-label': 'Confirm revoking', hidden: true });
  if (mayRevoke(k, me)) {
    const revoke = h('button', { type: 'button', class: 'danger', 'data-testid': 'revoke' }, 'Revoke…');
    const yes = h('button', { type: 'button', class: 'danger', 'data-testid': 'confirm-revoke' }, 'Yes, revoke');
    const no = h('button', { type: 'button', 'data-testid': 'cancel-revoke' }, 'Cancel');
    confirm.append(h('p', {}, `Revoke “${k.label}”? No new survey can start with its link; the surveys already made are kept.`), h('div', { class: 'row buttons' }, yes, no));
    revoke.addEventListener('click', () => {
      confirm.hidden = false;
      no.focus();
    });
    no.addEventListener('click', () => {
      confirm.hidden = true;
      revoke.focus();
    });
    yes.addEventListener('click', () => {
      void busy(confirm, async () => {
        try {
          await api('POST', `/api/keys/${encodeURIComponent(k.key_id)}/revoke`, null);
          await refresh(`Key “${k.label}” revoked.`);
        } catch (err) {
          say(status, errorWords(err), 'error');
        }
      });
    });
    buttons.append(revoke);
  }
  return h(
    'li',
    { class: 'panel key-card', 'data-key-id': k.key_id, 'data-status': k.status },
    h('div', { class: 'card-head' }, h('h3', {}, k.label), h('span', { class: 'badge', 'data-testid': 'key-status', 'data-status': k.status }, STATUS_WORDS[k.status])),
    facts(k),
    buttons,
    confirm,
    share,
    status,
  );
}
