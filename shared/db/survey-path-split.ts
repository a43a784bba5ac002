// A survey's measurements split per family and per path (issue 22), computed in the database from the same seconds
// as the per-connection summaries (survey-summary-sql.ts SECONDS), by counts: loss Σ lost / Σ expected. RTT and
// delay variation (|IPDV|, the jitter columns) p50/p99 come from the merged sketches of the group's connections
// (the summaries' own SketchMerge, so no sketch row is read twice) when every second with samples carries them;
// otherwise p50 is the median of the seconds' p50s and p99 the largest p99, and `percentiles` says which.
import type { PathDirectionSummary, SurveyPathSplit } from '../protocol/paths.js';
import type { PercentileSource } from '../stats/direction-stats.js';
import { mergeSketches, sketchQuad, type Sketch } from '../stats/sketch.js';
import type { InStatement, ResultSet } from './client.js';
import type { SqlCondition } from './survey-list.js';
import type { SketchMerge } from './survey-sketches.js';
import { SECONDS } from './survey-summary-sql.js';

/** Each second tagged twice: with its path (grp = the path index, '' for none) and with its family only (grp = '*'). */
const TAGGED = (gate: string) => `${SECONDS(gate)}, t AS (
  SELECT fam, COALESCE(CAST(path AS TEXT), '') AS grp, conn_id, dir, expected, COALESCE(lost_n, ROUND(loss / 100.0 * expected)) AS lost, received, r50, r99, rmin, rmax, j50, j99, jmin, jmax FROM m
  UNION ALL
  SELECT fam, '*' AS grp, conn_id, dir, expected, COALESCE(lost_n, ROUND(loss / 100.0 * expected)) AS lost, received, r50, r99, rmin, rmax, j50, j99, jmin, jmax FROM m)`;

const SUMS = (gate: string) => `WITH ${TAGGED(gate)}
  SELECT fam, grp, dir, SUM(expected) AS expected, SUM(lost) AS lost,
    SUM(rmax > 0) AS with_rtt, MAX(CASE WHEN rmax > 0 THEN r99 END) AS r99,
    MIN(CASE WHEN rmax > 0 THEN rmin END) AS rmin, MAX(CASE WHEN rmax > 0 THEN rmax END) AS rmax,
    SUM(received > 0) AS with_data, MAX(CASE WHEN received > 0 THEN j99 END) AS j99,
    MIN(CASE WHEN received > 0 THEN jmin END) AS jmin, MAX(CASE WHEN received > 0 THEN jmax END) AS jmax,
    GROUP_CONCAT(DISTINCT conn_id) AS conns
  FROM t GROUP BY fam, grp, dir`;

const median = (metric: string, col: string, withSamples: string) => `SELECT fam, grp, dir, '${metric}' AS metric, v FROM (
    SELECT fam, grp, dir, ${col} AS v,
      ROW_NUMBER() OVER (PARTITION BY fam, grp, dir ORDER BY ${col}) AS rn, COUNT(*) OVER (PARTITION BY fam, grp, dir) AS n
    FROM t WHERE ${withSamples}) WHERE rn = (n + 1) / 2`;

const MEDIANS = (gate: string) => `WITH ${TAGGED(gate)} ${median('rtt', 'r50', 'rmax > 0')} UNION ALL ${median('ipdv', 'j50', 'received > 0')}`;

/** The statements surveyPathSplitFrom reads (one batch, in order), reading no row unless `gate` holds. */
export function surveyPathSplitStatements(sessionId: string, gate: SqlCondition): InStatement[] {
  const args = [sessionId, ...gate.args];
  return [
    { sql: SUMS(gate.sql), args },
    { sql: MEDIANS(gate.sql), args },
  ];
}

type Row = Record<string, unknown>;
const num = (v: unknown) => Number(v ?? 0);
const famOf = (v: unknown) => (v === 'ipv4' || v === 'ipv6' ? v : null);
const key = (fam: unknown, grp: unknown, dir: unknown) => `${String(fam ?? '')}|${String(grp)}|${String(dir)}`;

/**
 * Where a group's percentiles in one direction come from: 'merged' when every one of its connections' seconds
 * with samples carries sketches (SketchMerge's own test, per connection over the whole survey), else the
 * approximation; null without samples.
 */
function sourceOf(r: Row | undefined, conns: readonly string[], dir: string, sk: SketchMerge | null): PercentileSource | null {
  if (num(r?.with_rtt) === 0 && num(r?.with_data) === 0) return null;
  return sk && conns.every((c) => sk.source(`${c}|${dir}|-1`) === 'merged') ? 'merged' : 'per_second_approx';
}

/** The group's merged sketch of `metric`: its connections' merged sketches added together. */
function groupSketch(conns: readonly string[], dir: string, metric: 'rtt' | 'jitter', sk: SketchMerge): Sketch {
  return mergeSketches(conns.flatMap((c) => sk.merged(`${c}|${dir}|-1`, metric) ?? []));
}

function direction(r: Row | undefined, medians: Map<string, number>, k: string, conns: readonly string[], dir: string, sk: SketchMerge | null): PathDirectionSummary {
  const expected = num(r?.expected);
  const lost = num(r?.lost);
  const source = sourceOf(r, conns, dir, sk);
  const pair = (metric: 'rtt' | 'ipdv', p: 'r' | 'j') => {
    const quad: [number, number, number, number] = [medians.get(`${k}|${metric}`) ?? 0, num(r?.[`${p}99`]), num(r?.[`${p}min`]), num(r?.[`${p}max`])];
    const [p50, p99] = source === 'merged' && sk ? sketchQuad(quad, groupSketch(conns, dir, metric === 'rtt' ? 'rtt' : 'jitter', sk)) : quad;
    return { p50, p99 };
  };
  return {
    probes_expected: expected,
    probes_lost: lost,
    loss_rate: expected ? (lost / expected) * 100 : 0,
    rtt_ms: num(r?.with_rtt) > 0 ? pair('rtt', 'r') : null,
    delay_variation_ms: num(r?.with_data) > 0 ? pair('ipdv', 'j') : null,
    percentiles: source,
  };
}

/**
 * The per-family and per-path summaries from surveyPathSplitStatements' results, by family then path (none last).
 * `sketches`: the survey's merged sketches per connection (surveySummarySketches); without them every figure is the approximation.
 */
export function surveyPathSplitFrom([sums, medians]: readonly ResultSet[], sketches: SketchMerge | null = null): SurveyPathSplit {
  const rows = new Map<string, Row>();
  const groups = new Map<string, { fam: unknown; grp: string; conns: Set<string> }>();
  for (const r of sums!.rows as unknown as Row[]) {
    rows.set(key(r.fam, r.grp, r.dir), r);
    const g = groups.get(key(r.fam, r.grp, '')) ?? { fam: r.fam, grp: String(r.grp), conns: new Set<string>() };
    // A group always has rows, so an empty name here is a connection without conn_id (kept for its sketches, not listed).
    for (const c of String(r.conns ?? '').split(',')) g.conns.add(c);
    groups.set(key(r.fam, r.grp, ''), g);
  }
  const p50s = new Map<string, number>();
  for (const r of medians!.rows as unknown as Row[]) p50s.set(`${key(r.fam, r.grp, r.dir)}|${String(r.metric)}`, num(r.v));
  const both = (fam: unknown, grp: string, conns: ReadonlySet<string>) => ({
    c2s: direction(rows.get(key(fam, grp, 'c2s')), p50s, key(fam, grp, 'c2s'), [...conns], 'c2s', sketches),
    s2c: direction(rows.get(key(fam, grp, 's2c')), p50s, key(fam, grp, 's2c'), [...conns], 's2c', sketches),
  });
  const order = (a: { fam: unknown }, b: { fam: unknown }) => (a.fam === null) !== (b.fam === null) ? (a.fam === null ? 1 : -1) : String(a.fam ?? '').localeCompare(String(b.fam ?? ''));
  const all = [...groups.values()];
  const paths = all.filter((g) => g.grp !== '*');
  return {
    family_summaries: all
      .filter((g) => g.grp === '*')
      .sort(order)
      .map((g) => ({ family: famOf(g.fam), paths: paths.filter((p) => p.fam === g.fam).length, ...both(g.fam, '*', g.conns) })),
    path_summaries: paths
      .sort((a, b) => order(a, b) || (a.grp === '' ? 1 : b.grp === '' ? -1 : Number(a.grp) - Number(b.grp)))
      .map((g) => ({ family: famOf(g.fam), path_index: g.grp === '' ? null : Number(g.grp), conn_ids: [...g.conns].filter((c) => c !== '').sort(), ...both(g.fam, g.grp, g.conns) })),
  };
}
