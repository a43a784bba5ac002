// A survey's measurements split by address family and by path (issue 22), from the detail's path_split (family_summaries,
// path_summaries): one row per family, one per path, the worst path marked.
import { worstPath } from '../../../shared/stats/worst-path.js';
import { h } from '../dom.js';
import type { PathDirection, SurveyDetail } from './survey-schemas.js';

const DIRS = [
  { id: 'c2s', label: 'up' },
  { id: 's2c', label: 'down' },
] as const;
const COLUMNS: { id: string; label: string; read: (d: PathDirection) => number | null; digits: number }[] = [
  { id: 'loss_rate', label: 'Loss %', read: (d) => d.loss_rate, digits: 3 },
  { id: 'rtt_p50', label: 'RTT p50', read: (d) => d.rtt_ms?.p50 ?? null, digits: 3 },
  { id: 'rtt_p99', label: 'RTT p99', read: (d) => d.rtt_ms?.p99 ?? null, digits: 3 },
  { id: 'dv_p50', label: 'DV p50', read: (d) => d.delay_variation_ms?.p50 ?? null, digits: 3 },
  { id: 'dv_p99', label: 'DV p99', read: (d) => d.delay_variation_ms?.p99 ?? null, digits: 3 },
];

/** Says where a row's p50/p99 come from, so an older survey's approximation is never passed off as merged. */
const PERCENTILES_FROM: Record<string, string> = { merged: 'merged sketches', per_second_approx: 'approximation (seconds without sketches)' };

const familyWord = (f: string | null) => (f === 'ipv4' ? 'IPv4' : f === 'ipv6' ? 'IPv6' : 'any');

/** Both directions' figure cells of a family or path, then where each direction's percentiles come from. */
function figures(x: { c2s: PathDirection; s2c: PathDirection }): HTMLElement[] {
  return [
    ...DIRS.flatMap((d) =>
      COLUMNS.map((c) => {
        const v = c.read(x[d.id]);
        return h('td', { 'data-dir': d.id, 'data-metric': c.id }, v === null ? '—' : v.toFixed(c.digits));
      }),
    ),
    ...DIRS.map((d) => {
      const from = x[d.id].percentiles;
      return h('td', { 'data-dir': d.id, 'data-metric': 'percentiles' }, from ? PERCENTILES_FROM[from]! : '—');
    }),
  ];
}

function header(lead: string[]): HTMLElement {
  return h(
    'thead',
    {},
    h('tr', {}, ...lead.map((l) => h('th', { scope: 'col' }, l)), ...DIRS.flatMap((d) => COLUMNS.map((c) => h('th', { scope: 'col' }, `${c.label} ${d.label}`))),
      ...DIRS.map((d) => h('th', { scope: 'col' }, `p50 / p99 from ${d.label}`)),
    ),
  );
}

/** The section, or null when the survey has no split (an older edge, or one connection held to no family). */
export function familyPathSection(d: SurveyDetail, id = 'family-paths'): HTMLElement | null {
  const fams = d.path_split?.family_summaries ?? [];
  const paths = d.path_split?.path_summaries ?? [];
  if (paths.length === 0 || (paths.length === 1 && paths[0]!.family === null)) return null;
  const where = new Map((d.connection_paths ?? []).map((c) => [c.conn_id, c]));
  const key = (p: (typeof paths)[number]) => `${p.family ?? ''}/${p.path_index ?? ''}`;
  const worst = worstPath(
    paths.map((p) => ({ id: key(p), loss_rate: Math.max(p.c2s.loss_rate, p.s2c.loss_rate), rtt_p99_ms: Math.max(p.c2s.rtt_ms?.p99 ?? 0, p.s2c.rtt_ms?.p99 ?? 0) })),
  );
  const pathWords = (p: (typeof paths)[number]) =>
    p.conn_ids
      .map((id) => where.get(id))
      .filter((c) => c !== undefined)
      .map((c) => `${c.client_prefix ?? '?'} → ${c.relay_address ?? '?'}${c.candidate_type ? ` (${c.candidate_type})` : ''}`)
      .join(', ');
  return h(
    'section',
    { class: 'panel family-paths', id, 'aria-label': 'By family and path' },
    h('h2', {}, 'By address family and path'),
    h(
      'p',
      { class: 'muted' },
      'Each family and path summed by counts over the survey, p50/p99 from its seconds\' merged sketches where every second has them; delay variation is |IPDV| between consecutive probes. The worst path is marked.',
    ),
    h(
      'div',
      { class: 'scroll' },
      h(
        'table',
        { class: 'summary family-summary' },
        header(['Family', 'Paths']),
        h('tbody', {}, ...fams.map((f) => h('tr', { 'data-family': f.family ?? 'any' }, h('th', { scope: 'row' }, familyWord(f.family)), h('td', { 'data-metric': 'paths' }, String(f.paths)), ...figures(f)))),
      ),
      h(
        'table',
        { class: 'summary path-summary' },
        header(['Family', 'Path', 'Addresses', 'Probes expected down']),
        h(
          'tbody',
          {},
          ...paths.map((p) =>
            h(
              'tr',
              { 'data-family': p.family ?? 'any', 'data-path': p.path_index ?? '', class: key(p) === worst ? 'worst' : null },
              h('th', { scope: 'row' }, familyWord(p.family)),
              h('td', {}, `${p.path_index === null ? '—' : p.path_index + 1}${key(p) === worst ? ' (worst)' : ''}`),
              h('td', { class: 'addresses' }, pathWords(p)),
              h('td', { 'data-metric': 'expected' }, String(p.s2c.probes_expected)),
              ...figures(p),
            ),
          ),
        ),
      ),
    ),
  );
}
