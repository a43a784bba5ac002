// A path trace as an HTML table (the page and the console both show it): a row per hop, the path MTU as caption.
import { hopCells, mtuText, type TraceView } from '../../shared/path/hop-text.js';

/** The trace's hop table; `label` starts the caption (which connection, when). An unavailable trace says why in the caption. */
export function hopTable(t: TraceView, label: string): HTMLTableElement {
  const table = document.createElement('table');
  table.className = 'hops';
  table.dataset.available = String(t.available);
  table.createCaption().textContent = t.available ? `${label} — ${mtuText(t)}` : `${label} — path trace unavailable: ${t.reason ?? 'no reason given'}`;
  if (!t.available) return table;
  const head = table.createTHead().insertRow();
  for (const title of ['Hop', 'Address', 'RTT p50 / max (ms)', 'Loss']) {
    const th = document.createElement('th');
    th.textContent = title;
    head.append(th);
  }
  const body = table.createTBody();
  for (const hop of t.hops) {
    const row = body.insertRow();
    row.dataset.ttl = String(hop.ttl);
    if (hop.ttl === t.mtu_hop) row.dataset.mtuHop = 'true';
    for (const text of hopCells(hop)) row.insertCell().textContent = text;
  }
  return table;
}
