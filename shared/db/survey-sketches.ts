// The merged-sketch half of a survey's summaries (survey-summary-sql.ts): which measured seconds lack sketches, and
// the sketches themselves, read in bounded pages (SKETCH_PAGE_ROWS rows each, in id order) and merged per connection,
// direction and load. The same figures as aggregateStats over every row (survey-summary.ts, the reference).
import type { Db, InStatement, ResultSet } from './client.js';
import type { SqlCondition } from './survey-list.js';
import type { Percentiles } from './survey-summary.js';
import type { PercentileSource } from '../stats/direction-stats.js';
import { decodeSketch, mergeSketches, SKETCH_FORMAT, sketchQuad, type Sketch, type WindowSketches } from '../stats/sketch.js';

/** Sketch rows per read: ~0.6 kB each in Hrana JSON, so under 1 MB a page; a one-connection survey of 8 minutes is one page. */
export const SKETCH_PAGE_ROWS = 1_000;

/** The measuring side's rows of a survey while `gate` holds, as survey-summary-sql.ts tags them, with whether each carries usable sketches and has samples. */
const ROWS = (gate: string) => `k AS (
  SELECT COALESCE(conn_id, '') AS conn_id, CASE WHEN source = 'server' THEN 'c2s' ELSE 's2c' END AS dir, id,
    CASE WHEN COALESCE(loaded, 0) != 0 THEN 1 ELSE 0 END AS ld, delay_sketch, ipdv_sketch, rtt_sketch,
    (COALESCE(sketch_format, '') = ? AND delay_sketch IS NOT NULL AND ipdv_sketch IS NOT NULL AND rtt_sketch IS NOT NULL) AS sk,
    (COALESCE(probe_count, 0) > 0 OR COALESCE(rtt_max_ms, 0) > 0) AS samples
  FROM survey_metrics
  WHERE session_id = ? AND (${gate}) AND ((source = 'server' AND direction = 'c2s') OR (source = 'client' AND direction = 's2c')))`;

const STATUS = (gate: string) => `WITH ${ROWS(gate)} SELECT conn_id, dir, ld, SUM(samples AND NOT sk) AS unsketched FROM k GROUP BY conn_id, dir, ld`;
const PAGE = (gate: string) => `WITH ${ROWS(gate)} SELECT id, conn_id, dir, ld, delay_sketch, ipdv_sketch, rtt_sketch FROM k WHERE sk AND id > ? ORDER BY id LIMIT ?`;

const OPEN: SqlCondition = { sql: '1', args: [] };
const page = (sessionId: string, afterId: number, gate: SqlCondition = OPEN): InStatement => ({
  sql: PAGE(gate.sql),
  args: [SKETCH_FORMAT, sessionId, ...gate.args, afterId, SKETCH_PAGE_ROWS],
});

/** The statements to batch with the summary's own (reading rows only while `gate` holds): seconds without sketches by scope, and the first page of sketches. */
export function sketchStatements(sessionId: string, gate: SqlCondition = OPEN): InStatement[] {
  return [{ sql: STATUS(gate.sql), args: [SKETCH_FORMAT, sessionId, ...gate.args] }, page(sessionId, -1, gate)];
}

/** Whether a page of sketches was full, so more may follow (a survey of SKETCH_PAGE_ROWS or more sketched seconds; at exactly that many the next read comes back empty). */
export const sketchPageFull = (page: ResultSet): boolean => page.rows.length >= SKETCH_PAGE_ROWS;

/**
 * Reads the pages after `first` while the last one was full, one round trip each: none for a survey within one page.
 * Ungated: the caller has already seen the survey (its first page came from the gated batch, empty when hidden).
 */
export async function continueSketchPages(db: Db, sessionId: string, first: ResultSet): Promise<ResultSet[]> {
  const more: ResultSet[] = [];
  let last = first;
  while (sketchPageFull(last)) {
    last = await db.execute(page(sessionId, Number(last.rows.at(-1)!.id)));
    more.push(last);
  }
  return more;
}

/** What the summary asks of the merged sketches, by its key `conn|dir|scope` (scope -1: the whole survey, 0 idle, 1 loaded). */
export interface SketchMerge {
  /** 'merged' when every second with samples in the scope carries sketches that decode, else 'per_second_approx'. */
  source(key: string): PercentileSource;
  /** `p` with p50/p99 from the scope's merged sketch when `source` is 'merged'; `p` unchanged otherwise. */
  percentiles(key: string, metric: 'delay' | 'jitter' | 'rtt', source: PercentileSource | null, p: Percentiles): Percentiles;
  /** The scope's merged sketch of `metric` when `source` is 'merged' (empty without samples), else null. */
  merged(key: string, metric: 'delay' | 'jitter' | 'rtt'): Sketch | null;
}

const KINDS = { delay: 'delay', jitter: 'ipdv', rtt: 'rtt' } as const satisfies Record<string, keyof WindowSketches>;

/** Merges the sketch rows of every page per scope, against the status of which seconds lack them. */
export function mergeSketchRows(status: ResultSet, pages: readonly ResultSet[]): SketchMerge {
  const keyOf = (r: Record<string, unknown>, scope: number) => `${String(r.conn_id ?? '')}|${String(r.dir)}|${scope}`;
  const unsketched = new Map<string, number>();
  const count = (k: string, n: number) => unsketched.set(k, (unsketched.get(k) ?? 0) + n);
  for (const r of status.rows as unknown as Record<string, unknown>[]) {
    count(keyOf(r, Number(r.ld)), Number(r.unsketched ?? 0));
    count(keyOf(r, -1), Number(r.unsketched ?? 0));
  }
  const parts = new Map<string, Record<keyof WindowSketches, Sketch[]>>();
  for (const rs of pages) {
    for (const r of rs.rows as unknown as Record<string, unknown>[]) {
      const [delay, ipdv, rtt] = [decodeSketch(String(r.delay_sketch)), decodeSketch(String(r.ipdv_sketch)), decodeSketch(String(r.rtt_sketch))];
      for (const k of [keyOf(r, Number(r.ld)), keyOf(r, -1)]) {
        // A stored sketch that does not decode makes its second one without: its scope falls back, never mixes.
        if (!delay || !ipdv || !rtt) count(k, 1);
        else {
          let p = parts.get(k);
          if (!p) parts.set(k, (p = { delay: [], ipdv: [], rtt: [] }));
          p.delay.push(delay);
          p.ipdv.push(ipdv);
          p.rtt.push(rtt);
        }
      }
    }
  }
  const cache = new Map<string, Sketch>();
  const source = (k: string): PercentileSource => ((unsketched.get(k) ?? 0) > 0 ? 'per_second_approx' : 'merged');
  const merged = (k: string, metric: keyof typeof KINDS): Sketch => {
    const mk = `${k}|${metric}`;
    let s = cache.get(mk);
    if (!s) cache.set(mk, (s = mergeSketches(parts.get(k)?.[KINDS[metric]] ?? [])));
    return s;
  };
  return {
    source,
    percentiles(k, metric, src, p) {
      if (src !== 'merged' || !parts.has(k)) return p;
      const [p50, p99, min, max] = sketchQuad([p.p50, p.p99, p.min, p.max], merged(k, metric));
      return { p50, p99, min, max };
    },
    merged: (k, metric) => (source(k) === 'merged' ? merged(k, metric) : null),
  };
}
