// /console: every survey the person may see, newest first, with filters (key, dates, technician, deleted),
// cursor paging ("More"), a selection to compare (2–4) and the export of a key's surveys (large ones as a background job).
import { api, errorWords } from '../api.js';
import { busy, h, say } from '../dom.js';
import { duration, when } from '../format.js';
import { navigate } from '../navigate.js';
import { exportControl } from './export-control.js';
import { KeyListSchema, type MeView } from '../schemas.js';
import { SurveyPageSchema, type SurveyItem } from './survey-schemas.js';

const dateMs = (v: string, endOfDay = false) => (v ? Date.parse(`${v}T${endOfDay ? '23:59:59.999' : '00:00:00'}`) : null);

/** Draws the survey list into `root`. */
export function surveyListView(root: HTMLElement, _me: MeView): void {
  const keySelect = h('select', { id: 'filter-key' }, h('option', { value: '' }, 'All keys'));
  const from = h('input', { id: 'filter-from', type: 'date' });
  const to = h('input', { id: 'filter-to', type: 'date' });
  const user = h('input', { id: 'filter-user', type: 'text', placeholder: 'login', autocomplete: 'off' });
  const deleted = h('select', { id: 'filter-deleted' }, h('option', { value: 'false' }, 'Hide deleted'), h('option', { value: 'all' }, 'Show deleted too'), h('option', { value: 'true' }, 'Only deleted'));
  const status = h('p', { id: 'surveys-status', class: 'status', role: 'status', 'aria-live': 'polite' });
  const body = h('tbody', { id: 'survey-rows' });
  const more = h('button', { id: 'more-surveys', type: 'button', hidden: true }, 'More');
  const compare = h('button', { id: 'compare', type: 'button', disabled: true }, 'Compare selected');
  const selected = new Set<string>();
  let cursor: string | null = null;

  const exporter = exportControl(() => {
    const q = query();
    q.delete('deleted');
    return q;
  });
  const exportLink = exporter.link;

  const query = () => {
    const q = new URLSearchParams();
    if (keySelect.value) q.set('key_id', keySelect.value);
    const f = dateMs(from.value);
    const t = dateMs(to.value, true);
    if (f !== null) q.set('from', String(f));
    if (t !== null) q.set('to', String(t));
    if (user.value.trim()) q.set('user', user.value.trim());
    q.set('deleted', deleted.value);
    return q;
  };

  const row = (s: SurveyItem) => {
    const box = h('input', { type: 'checkbox', 'aria-label': `Select survey ${s.session_id} to compare`, 'data-select': s.session_id });
    box.addEventListener('change', () => {
      if (box.checked) selected.add(s.session_id);
      else selected.delete(s.session_id);
      compare.disabled = selected.size < 2 || selected.size > 4;
      compare.textContent = selected.size > 4 ? 'Compare (at most 4)' : `Compare selected (${selected.size})`;
    });
    return h(
      'tr',
      { 'data-survey': s.session_id, class: s.deleted ? 'deleted' : '' },
      h('td', {}, box),
      h('td', {}, h('a', { href: `/console/surveys/${encodeURIComponent(s.session_id)}`, 'data-open': s.session_id }, when(s.start_time))),
      h('td', {}, s.key_label ?? '—'),
      h('td', {}, s.user_login ?? '—'),
      h('td', {}, duration(s.duration_ms)),
      h('td', { class: 'num' }, String(s.connections)),
      h('td', { class: 'num' }, String(s.metric_rows)),
      h('td', {}, s.has_capture ? 'yes' : '—'),
      h('td', {}, s.deleted ? 'deleted' : s.end_reason ?? ''),
    );
  };

  const load = async (append: boolean) => {
    const q = query();
    q.set('limit', '50');
    if (append && cursor) q.set('cursor', cursor);
    try {
      const page = await api('GET', `/api/surveys?${q}`, SurveyPageSchema);
      if (!append) body.replaceChildren();
      body.append(...page.items.map(row));
      cursor = page.next_cursor;
      more.hidden = cursor === null;
      const shown = body.children.length;
      say(status, shown ? `${shown} survey${shown === 1 ? '' : 's'} shown${cursor ? '; more below' : ''}.` : 'No survey matches. Widen the dates or pick another key.');
      const eq = query();
      eq.delete('deleted');
      eq.set('format', 'csv');
      exportLink.setAttribute('href', `/api/surveys/export?${eq}`);
    } catch (err) {
      say(status, errorWords(err), 'error');
    }
  };

  const filters = h(
    'form',
    { id: 'survey-filters', class: 'row filters', 'aria-label': 'Filter surveys' },
    h('label', {}, 'Key ', keySelect),
    h('label', {}, 'From ', from),
    h('label', {}, 'To ', to),
    h('label', {}, 'Technician ', user),
    h('label', {}, 'Deleted ', deleted),
    h('button', { type: 'submit' }, 'Show'),
  );
  filters.addEventListener('submit', (ev) => {
    ev.preventDefault();
    cursor = null;
    void busy(filters, () => load(false));
  });
  more.addEventListener('click', () => void busy(more, () => load(true)));
  compare.addEventListener('click', () => navigate(`/console/compare?ids=${[...selected].map(encodeURIComponent).join(',')}`));

  root.replaceChildren(
    h(
      'section',
      { class: 'panel', 'aria-label': 'Surveys' },
      h('h2', {}, 'Surveys'),
      filters,
      h(
        'div',
        { class: 'scroll' },
        h(
          'table',
          { id: 'surveys', class: 'list' },
          h('thead', {}, h('tr', {}, ...['', 'Started', 'Key', 'Technician', 'Duration', 'Connections', 'Rows', 'Capture', ''].map((t) => h('th', { scope: 'col' }, t)))),
          body,
        ),
      ),
      h('div', { class: 'row buttons' }, more, compare, exportLink, h('a', { class: 'button', href: '/console/live' }, 'Live view')),
      status,
      exporter.status,
    ),
  );
  void (async () => {
    try {
      for (const k of await api('GET', '/api/keys', KeyListSchema)) keySelect.append(h('option', { value: k.key_id }, `${k.label} (${k.status})`));
    } catch {
      // The list still works without the key names.
    }
  })();
  void load(false);
}
