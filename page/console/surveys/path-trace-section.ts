// The survey detail's path traces: each connection's latest hop table beside the summary, and how many traces it had.
import { h } from '../dom.js';
import { when } from '../format.js';
import { hopTable } from '../../ui/hop-table.js';
import type { PathTrace } from './survey-schemas.js';

/** The "Path toward the client" panel; null when the survey has no trace. */
export function pathTraceSection(traces: readonly PathTrace[]): HTMLElement | null {
  if (!traces.length) return null;
  const latest = new Map<string, PathTrace>();
  const counts = new Map<string, number>();
  for (const t of traces) {
    if ((latest.get(t.conn_id)?.at_ms ?? -Infinity) <= t.at_ms) latest.set(t.conn_id, t);
    counts.set(t.conn_id, (counts.get(t.conn_id) ?? 0) + 1);
  }
  return h(
    'section',
    { id: 'survey-path', class: 'panel', 'aria-label': 'Path toward the client' },
    h('h2', {}, 'Path toward the client'),
    h('p', { class: 'muted' }, 'Hops from the relay toward the client’s address over the survey’s own UDP port; the latest trace of each connection.'),
    h(
      'div',
      { class: 'scroll' },
      ...[...latest.values()].map((t) => hopTable(t, `Connection ${t.conn_id.slice(0, 8)}, ${when(t.at_ms)} (${counts.get(t.conn_id)} trace${counts.get(t.conn_id) === 1 ? '' : 's'})`)),
    ),
  );
}
