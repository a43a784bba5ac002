// /console/compare?ids=a,b,…: 2–4 surveys overlaid on time since each one's start, and their summaries side
// by side with the difference from the first ("before and after the access-point change").
import { api, errorWords } from '../api.js';
import { h, say } from '../dom.js';
import { when } from '../format.js';
import type { MeView } from '../schemas.js';
import { chartData, METRICS, type Direction } from './metric-series.js';
import { createSurveyCharts, lineColor, type SurveyCharts } from './survey-charts.js';
import { SeriesSchema, SurveyDetailSchema, type DirectionSummary, type Series, type SurveyDetail } from './survey-schemas.js';
import { SUMMARY_ROWS, summaryCell } from './survey-summary-table.js';
import { familyPathSection } from './family-path-section.js';

const DIRS: Direction[] = ['c2s', 's2c'];

/** The survey's summary of a direction as compared: its first connection's (the page says so). */
function directionOf(d: SurveyDetail, dir: Direction): DirectionSummary | null {
  return d.summaries[0]?.[dir] ?? null;
}

/** Draws the comparison of `ids` into `root`; returns a function that releases the charts. */
export function compareView(root: HTMLElement, _me: MeView, ids: string[]): () => void {
  const status = h('p', { id: 'compare-status', class: 'status', role: 'status', 'aria-live': 'polite' }, 'Loading…');
  root.replaceChildren(h('section', { class: 'panel' }, h('h2', {}, 'Compare surveys'), status));
  let charts: SurveyCharts | null = null;
  if (ids.length < 2 || ids.length > 4) {
    say(status, 'Pick 2 to 4 surveys in the list, then Compare.', 'error');
    return () => {};
  }
  void (async () => {
    let surveys: { d: SurveyDetail; series: Series }[];
    try {
      surveys = await Promise.all(
        ids.map(async (id) => ({
          d: await api('GET', `/api/surveys/${encodeURIComponent(id)}`, SurveyDetailSchema),
          series: await api('GET', `/api/surveys/${encodeURIComponent(id)}/series`, SeriesSchema),
        })),
      );
    } catch (err) {
      say(status, errorWords(err), 'error');
      return;
    }
    const name = (i: number) => `${String.fromCharCode(65 + i)}: ${when(surveys[i]!.d.start_time)}`;
    const table = h(
      'table',
      { id: 'compare-summary', class: 'summary' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          h('th', { scope: 'col' }, ''),
          ...surveys.flatMap((_, i) => DIRS.map((dir) => h('th', { scope: 'col' }, `${name(i)} ${dir === 'c2s' ? 'up' : 'down'}`))),
        ),
      ),
      h(
        'tbody',
        {},
        ...SUMMARY_ROWS.map((r) =>
          h(
            'tr',
            {},
            h('th', { scope: 'row' }, r.label),
            ...surveys.flatMap((s, i) =>
              DIRS.map((dir) => {
                const sum = directionOf(s.d, dir);
                const text = sum ? summaryCell(r, sum) : '—';
                const base = directionOf(surveys[0]!.d, dir);
                const [a, b] = [sum ? r.read(sum) : null, base ? r.read(base) : null];
                const diff = i > 0 && typeof a === 'number' && typeof b === 'number' ? ` (${a - b >= 0 ? '+' : ''}${(a - b).toFixed(r.digits ?? 2)})` : '';
                return h('td', { 'data-metric': r.id, 'data-dir': dir, 'data-survey': String(i) }, text + diff);
              }),
            ),
          ),
        ),
      ),
    );
    const chartRoot = h('section', { id: 'compare-charts', class: 'charts', 'aria-label': 'Charts' });
    root.replaceChildren(
      h(
        'section',
        { class: 'panel', 'aria-label': 'Compared surveys' },
        h('h2', {}, 'Compare surveys'),
        h('ul', {}, ...surveys.map((s, i) => h('li', {}, h('a', { href: `/console/surveys/${encodeURIComponent(s.d.session_id)}` }, name(i)), ` — key ${s.d.key_label ?? '—'}, ${s.d.connections} connection(s)`))),
        h('p', { class: 'muted' }, 'Differences are from survey A. With several connections, the first connection of each survey is compared.'),
        h('div', { class: 'scroll' }, table),
        status,
      ),
      // Each survey's own split by family and path, A first (the paths of two surveys are not the same paths).
      ...surveys.flatMap((s, i) => {
        const split = familyPathSection(s.d, `family-paths-${i}`);
        split?.querySelector('h2')?.replaceChildren(`${name(i)} — by address family and path`);
        return split ? [split] : [];
      }),
      chartRoot,
    );
    say(status, '');
    // Each survey on its own time since start; one line per survey and direction (first connection).
    charts = createSurveyCharts(
      chartRoot,
      METRICS.map((m) => {
        const parts = surveys.flatMap((s) => {
          const conn = s.d.summaries[0]?.conn_id ?? '';
          const rows = s.series.rows.filter((r) => (r.conn_id ?? '') === conn);
          return DIRS.map((dir) => chartData(rows, m, s.d.start_time, [{ conn_id: conn, direction: dir }], s.series.bucket_ms / 1000));
        });
        // Each survey's series may have its own bucket width: the x axis is every x any of them has.
        const xs = [...new Set(parts.flatMap((p) => p.xs))].sort((a, b) => a - b);
        const series = parts.map((p) => {
          const at = new Map(p.xs.map((x, i) => [x, p.series[0]!.values[i] ?? null]));
          return { key: p.series[0]!.key, values: xs.map((x) => at.get(x) ?? null) };
        });
        return {
          id: m.id,
          title: m.title,
          unit: m.unit,
          data: { xs, series, loaded: [] },
          lines: surveys.flatMap((_, i) => DIRS.map((dir) => ({ label: `${String.fromCharCode(65 + i)} ${dir === 'c2s' ? 'up' : 'down'}`, color: lineColor(i * 2 + (dir === 's2c' ? 1 : 0)), ...(dir === 's2c' ? { dash: [5, 4] } : {}) }))),
        };
      }),
    );
  })();
  return () => charts?.destroy();
}
