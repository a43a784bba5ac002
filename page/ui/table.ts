import { METRICS, WINDOWS, summarize, type History, type WindowName } from '../model.js';

const DIRS = [
  { id: 'c2s', label: 'Upload (you → server)' },
  { id: 's2c', label: 'Download (server → you)' },
] as const;

/** Rows that are percentiles of the window's samples (merged from per-second sketches). */
const PERCENTILE = /_p(50|99)$/;

/** Builds the summary table: a row per metric, a column per direction and window; cells carry data-metric/-dir/-window. */
export function createSummaryTable(table: HTMLTableElement): (h: History) => void {
  const windows = Object.keys(WINDOWS) as WindowName[];
  const head = table.createTHead();
  const top = head.insertRow();
  top.append(th(''));
  for (const d of DIRS) top.append(th(d.label, windows.length));
  const sub = head.insertRow();
  sub.append(th('Metric'));
  for (let i = 0; i < DIRS.length; i++) for (const w of windows) sub.append(th(w));
  const body = table.createTBody();
  const cells: { td: HTMLTableCellElement; metric: (typeof METRICS)[number]; dir: 'c2s' | 's2c'; window: WindowName }[] = [];
  for (const m of METRICS) {
    const row = body.insertRow();
    const label = row.insertCell();
    label.textContent = m.unit ? `${m.label} (${m.unit})` : m.label;
    label.className = 'label';
    for (const d of DIRS) {
      for (const w of windows) {
        const td = row.insertCell();
        td.dataset.metric = m.id;
        td.dataset.dir = d.id;
        td.dataset.window = w;
        td.textContent = '–';
        cells.push({ td, metric: m, dir: d.id, window: w });
      }
    }
  }
  return (h) => {
    if (h.seconds.length === 0) return;
    const sums = Object.fromEntries(windows.map((w) => [w, summarize(h, w)]));
    for (const c of cells) {
      const s = sums[c.window]!;
      const v = c.metric.read(s[c.dir], c.dir === 'c2s' ? s.c2s_bps : s.s2c_bps, s);
      // A percentile over seconds of which some carried no sketch is the per-second approximation: marked, never passed off as merged.
      const approx = PERCENTILE.test(c.metric.id) && s[c.dir].percentiles === 'per_second_approx';
      c.td.textContent = v === null ? '–' : `${approx ? '≈' : ''}${v.toFixed(c.metric.digits)}`;
      c.td.title = approx ? 'approximate: median of per-second p50s / largest per-second p99 (some seconds carried no sketch)' : '';
    }
  };
}

function th(text: string, colSpan = 1): HTMLTableCellElement {
  const el = document.createElement('th');
  el.textContent = text;
  el.colSpan = colSpan;
  return el;
}
