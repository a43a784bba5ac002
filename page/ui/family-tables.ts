// The per-family summary rows and the per-path table (issue 22): loss, RTT p50/p99 and delay variation both ways;
// the worst path is marked, a family that could not connect is named with its reason.
import { hostPort, type IpFamily } from '../../shared/ip-family.js';
import type { DirectionStats } from '../../shared/stats/index.js';
import { worstPath } from '../../shared/stats/worst-path.js';
import { badness, familiesOf, familyFigures, pathFigures, sortedPaths, type FamilyModel, type Figures } from '../family-model.js';

/** A column of both tables: what it reads from a direction's figures and how many digits it shows. */
const COLUMNS: { id: string; label: string; read: (d: DirectionStats) => number | null; digits: number }[] = [
  { id: 'loss_rate', label: 'Loss %', read: (d) => d.loss_rate, digits: 2 },
  { id: 'rtt_p50', label: 'RTT p50', read: (d) => (d.rtt_ms[3] > 0 ? d.rtt_ms[0] : null), digits: 3 },
  { id: 'rtt_p99', label: 'RTT p99', read: (d) => (d.rtt_ms[3] > 0 ? d.rtt_ms[1] : null), digits: 3 },
  // Delay variation is |IPDV| between consecutive probes (RFC 5481), as the survey detail's split calls it.
  { id: 'dv_p50', label: 'DV p50', read: (d) => (d.probe_count > 0 ? d.jitter_ms[0] : null), digits: 3 },
  { id: 'dv_p99', label: 'DV p99', read: (d) => (d.probe_count > 0 ? d.jitter_ms[1] : null), digits: 3 },
];
const DIRS = [
  { id: 'c2s', label: 'Up (you → server)' },
  { id: 's2c', label: 'Down (server → you)' },
] as const;

export const familyName = (f: IpFamily | null) => (f === 'ipv4' ? 'IPv4' : f === 'ipv6' ? 'IPv6' : 'Any');

function el<K extends keyof HTMLElementTagNameMap>(tag: K, text = '', attrs: Record<string, string> = {}): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  e.textContent = text;
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  return e;
}

/** The two header rows: the leading columns, then each direction's figures. */
function head(table: HTMLTableElement, lead: string[]): void {
  const top = table.createTHead().insertRow();
  top.append(...lead.map(() => el('th')));
  for (const d of DIRS) top.append(el('th', d.label, { colspan: String(COLUMNS.length) }));
  const sub = table.tHead!.insertRow();
  sub.append(...lead.map((l) => el('th', l)));
  for (let i = 0; i < DIRS.length; i++) sub.append(...COLUMNS.map((c) => el('th', c.label)));
}

/** A row's figure cells, each carrying data-dir and data-metric for whoever reads them; percentiles not from merged sketches show `≈`. */
function figureCells(row: HTMLTableRowElement, f: Figures): void {
  for (const d of DIRS) {
    const approx = f[d.id].percentiles === 'per_second_approx';
    for (const c of COLUMNS) {
      const v = c.read(f[d.id]);
      const mark = approx && c.id !== 'loss_rate' && v !== null;
      const td = el('td', v === null ? '–' : `${mark ? '≈' : ''}${v.toFixed(c.digits)}`, { 'data-dir': d.id, 'data-metric': c.id });
      if (mark) td.title = 'approximate: median of per-second p50s / largest per-second p99 (some seconds carried no sketch)';
      row.append(td);
    }
  }
}

/** Redraws the family rows, the path table and the unavailable families from the model. */
export function renderFamilyTables(m: FamilyModel, families: HTMLTableElement, paths: HTMLTableElement, unavailable: HTMLUListElement): void {
  families.replaceChildren();
  head(families, ['Family', 'Paths']);
  const fb = families.createTBody();
  for (const family of familiesOf(m)) {
    const row = fb.insertRow();
    row.dataset.family = family ?? 'any';
    row.append(el('th', familyName(family)), el('td', String([...m.paths.values()].filter((p) => p.family === family).length), { 'data-metric': 'paths' }));
    figureCells(row, familyFigures(m, family));
  }
  for (const [family, reason] of m.unavailable) {
    const row = fb.insertRow();
    row.dataset.family = family;
    row.className = 'unavailable';
    row.append(el('th', familyName(family)), el('td', `unavailable: ${reason}`, { colspan: String(1 + DIRS.length * COLUMNS.length) }));
  }
  paths.replaceChildren();
  head(paths, ['Family', 'Path', 'Connection', 'Address pair', 'Probes down', 'Send slip (ms)']);
  const pb = paths.createTBody();
  const rows = sortedPaths(m).map((p) => ({ p, conn_id: p.conn_id, f: pathFigures(p) }));
  const worst = worstPath(rows.map((r) => badness(r.conn_id, r.f)));
  for (const { p, f } of rows) {
    const row = pb.insertRow();
    Object.assign(row.dataset, { family: p.family ?? 'any', path: String(p.path_index), conn: p.conn_id });
    if (p.conn_id === worst) row.className = 'worst';
    row.append(
      el('th', familyName(p.family)),
      el('td', `${p.path_index + 1}${p.conn_id === worst ? ' (worst)' : ''}`),
      el('td', p.conn_id.slice(0, 8), { title: p.conn_id }),
      // Paths of a family differ in this browser's port: the 5-tuple routers may hash onto another route.
      el('td', p.pair ? `${hostPort(p.pair.local.address, p.pair.local.port)} → ${hostPort(p.pair.remote.address, p.pair.remote.port)}` : '–', { 'data-metric': 'pair' }),
      el('td', String(f.s2c.probe_count), { 'data-metric': 'probes' }),
      el('td', p.paused_ms.toFixed(0), { 'data-metric': 'send_slip' }),
    );
    figureCells(row, f);
  }
  unavailable.replaceChildren(...[...m.unavailable].map(([family, reason]) => el('li', `${familyName(family)} could not be measured: ${reason}`, { 'data-family': family })));
}
