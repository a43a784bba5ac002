// A survey's seconds summed per family and path (issue 22): the CLI's end table, in which a bad path stands out.
import type { IpFamily } from '../shared/ip-family.js';
import { aggregateStats } from '../shared/stats/aggregate.js';
import type { DirectionStats } from '../shared/stats/direction-stats.js';
import type { SurveyEvent } from './survey-client.js';

type StatsEvent = Extract<SurveyEvent, { type: 'stats' }>;

/** One path's seconds, both directions, by counts. */
export interface PathRow {
  family: IpFamily | null;
  path_index: number;
  c2s: DirectionStats;
  s2c: DirectionStats;
  /** Its loss or RTT p99 (either direction) is well above its family's other paths'. */
  stands_out: boolean;
}

/** Loss (percent points) a path must show over its family's median before it stands out. */
const LOSS_MARGIN_PP = 0.5;

/** The per-path summaries of `events` (each second once), by family then path. */
export function summarizePaths(events: readonly StatsEvent[]): PathRow[] {
  const groups = new Map<string, { family: IpFamily | null; path_index: number; list: StatsEvent[] }>();
  for (const e of events) {
    const k = `${e.family ?? ''}|${e.path_index ?? 0}`;
    const g = groups.get(k) ?? { family: e.family ?? null, path_index: e.path_index ?? 0, list: [] };
    g.list.push(e);
    groups.set(k, g);
  }
  const rows = [...groups.values()]
    .sort((a, b) => (a.family ?? '').localeCompare(b.family ?? '') || a.path_index - b.path_index)
    .map((g) => ({
      family: g.family,
      path_index: g.path_index,
      c2s: aggregateStats(g.list.flatMap((e) => (e.c2s ? [e.c2s] : []))),
      s2c: aggregateStats(g.list.map((e) => e.s2c)),
      stands_out: false,
    }));
  for (const row of rows) {
    const peers = rows.filter((r) => r.family === row.family);
    if (peers.length < 2) continue;
    row.stands_out = (['c2s', 's2c'] as const).some((d) => {
      const loss = median(peers.map((r) => r[d].loss_rate));
      const p99 = median(peers.map((r) => r[d].rtt_ms[1]));
      return row[d].loss_rate >= loss + LOSS_MARGIN_PP || (p99 > 0 && row[d].rtt_ms[1] >= 2 * p99);
    });
  }
  return rows;
}

/** The nearest-rank median (rank ⌈n/2⌉). */
function median(xs: readonly number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.ceil(sorted.length / 2) - 1] ?? 0;
}
