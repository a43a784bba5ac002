// Reads survey_metrics rows for export in bounded pages, keyed on (session_id, timestamp_ms, id), so
// any number of rows passes through a fixed amount of memory and every page is an index range.
import type { InValue } from '@libsql/client';
import type { Db } from './client.js';

/** Every survey_metrics column, in table order (test/integration/surveys-export.test.ts holds it to PRAGMA table_info). */
export const METRIC_COLUMNS = [
  'id',
  'session_id',
  'timestamp_ms',
  'source',
  'conn_id',
  'direction',
  'delay_p50_ms',
  'delay_p99_ms',
  'delay_min_ms',
  'delay_max_ms',
  'jitter_p50_ms',
  'jitter_p99_ms',
  'jitter_min_ms',
  'jitter_max_ms',
  'rtt_p50_ms',
  'rtt_p99_ms',
  'rtt_min_ms',
  'rtt_max_ms',
  'loss_rate',
  'reorder_rate',
  'probe_count',
  'baseline_delay_ms',
  'created_at',
  'deleted',
  'deleted_at',
  'deleted_by',
  'probes_expected',
  'late_count',
  'sender_paused_ms',
  'loaded',
  'throughput_bps',
  'loss_tmax_ms',
  'row_key',
  'window_index',
  'lost_count',
  'delay_sketch',
  'ipdv_sketch',
  'rtt_sketch',
  'sketch_format',
  'family',
  'path_index',
] as const;

export type MetricColumn = (typeof METRIC_COLUMNS)[number];
/** One metric row as the database holds it, values in METRIC_COLUMNS order (the client's Row, read by index). */
export type MetricValues = ArrayLike<string | number | bigint | null>;

const SELECT_LIST = METRIC_COLUMNS.map((c) => `m.${c}`).join(', ');
const SESSION_COL = METRIC_COLUMNS.indexOf('session_id');
const TIME_COL = METRIC_COLUMNS.indexOf('timestamp_ms');
const ID_COL = METRIC_COLUMNS.indexOf('id');

/** Which deleted surveys (and rows) take part: the live ones (default), only the deleted ones, or all. */
export type DeletedFilter = 'false' | 'true' | 'all';

/** Which surveys an export covers; `access` is a condition on survey_sessions aliased `s` (the viewer's visible surveys). */
export interface SurveySelection {
  access: { sql: string; args: InValue[] };
  keyId?: string;
  /** survey start_time bounds, ms: from inclusive, to exclusive. */
  from?: number;
  to?: number;
  user?: string;
  deleted: DeletedFilter;
}

/** Row filters within each survey. */
export interface MetricFilter {
  source?: string;
  direction?: string;
  connId?: string;
  /** Leave out rows marked deleted (the default for exports of live surveys). */
  liveRowsOnly?: boolean;
}

/** Rows per database read: a page of ~37 columns is 1–2 kB a row in Hrana JSON (the sketches about half), so a few MB at most. */
export const DEFAULT_PAGE_ROWS = 2000;
/** Surveys whose rows one query may span. */
const SURVEY_CHUNK = 500;

/** SQL conditions built up one by one, with their arguments in order. */
function conditions() {
  const parts: string[] = [];
  const args: InValue[] = [];
  return {
    parts,
    args,
    add(sql: string, ...values: InValue[]) {
      parts.push(sql);
      args.push(...values);
    },
  };
}

function rowFilterSql(f: MetricFilter): { sql: string; args: InValue[] } {
  const w = conditions();
  if (f.source !== undefined) w.add('m.source = ?', f.source);
  if (f.direction !== undefined) w.add('m.direction = ?', f.direction);
  if (f.connId !== undefined) w.add('m.conn_id = ?', f.connId);
  if (f.liveRowsOnly) w.add('COALESCE(m.deleted, 0) = 0');
  return { sql: w.parts.map((p) => ` AND ${p}`).join(''), args: w.args };
}

/** The conditions on survey_sessions (aliased `s`) that pick the selected surveys, joined with AND. */
function selectionSql(sel: SurveySelection): { sql: string; args: InValue[] } {
  const w = conditions();
  w.add(sel.access.sql, ...sel.access.args);
  if (sel.keyId !== undefined) w.add('s.magic_key IN (SELECT key FROM magic_keys WHERE key_id = ?)', sel.keyId);
  if (sel.from !== undefined) w.add('s.start_time >= ?', sel.from);
  if (sel.to !== undefined) w.add('s.start_time < ?', sel.to);
  if (sel.user !== undefined) w.add('s.user_login = ?', sel.user);
  if (sel.deleted === 'false') w.add('COALESCE(s.deleted, 0) = 0');
  if (sel.deleted === 'true') w.add('COALESCE(s.deleted, 0) <> 0');
  return { sql: w.parts.map((p) => `(${p})`).join(' AND '), args: w.args };
}

/** The next chunk of selected survey ids after `after`, in session_id order (the primary key's). */
export async function selectSurveyIds(db: Db, sel: SurveySelection, after: string | null, limit = SURVEY_CHUNK): Promise<string[]> {
  const where = selectionSql(sel);
  const rs = await db.execute({
    sql: `SELECT s.session_id FROM survey_sessions s WHERE ${where.sql}${after !== null ? ' AND s.session_id > ?' : ''} ORDER BY s.session_id LIMIT ?`,
    args: [...where.args, ...(after !== null ? [after] : []), limit],
  });
  return rs.rows.map((r) => String(r[0]));
}

/**
 * How many rows an export of `sel` holds, counting no further than `atMost`
 * when given (so asking "more than N?" costs at most N index steps).
 */
export async function countExportRows(db: Db, sel: SurveySelection, atMost?: number): Promise<number> {
  const where = selectionSql(sel);
  const rows = rowFilterSql({ liveRowsOnly: sel.deleted === 'false' });
  const rs = await db.execute({
    sql: `SELECT COUNT(*) FROM (SELECT 1 FROM survey_sessions s JOIN survey_metrics m ON m.session_id = s.session_id WHERE ${where.sql}${rows.sql}${atMost !== undefined ? ' LIMIT ?' : ''})`,
    args: [...where.args, ...rows.args, ...(atMost !== undefined ? [atMost] : [])],
  });
  return Number(rs.rows[0]?.[0] ?? 0);
}

/** Where a metric row stands in the export's (session_id, timestamp_ms, id) order. */
export interface RowPosition {
  session: string;
  time: number;
  id: number;
}

/** The export-order position of a row. */
export const rowPosition = (r: MetricValues): RowPosition => ({ session: String(r[SESSION_COL]), time: Number(r[TIME_COL]), id: Number(r[ID_COL]) });

/**
 * The metric rows of `surveys` (ids in the database's session_id order, as
 * selectSurveyIds gives them), page by page, in (session_id,
 * timestamp_ms, id) order. A page that ends inside a survey is continued by
 * a range read on that survey alone; otherwise one read covers the rest of
 * the surveys, which the (session_id, timestamp_ms) index serves in order
 * with no sort. The next page is asked for as soon as a page arrives, so
 * the database works while the caller writes this page out. With `after`,
 * the rest of that row's survey comes first (a resumed export).
 */
export async function* metricPagesOf(
  db: Db,
  surveys: readonly string[],
  filter: MetricFilter,
  pageRows = DEFAULT_PAGE_ROWS,
  after: RowPosition | null = null,
): AsyncGenerator<MetricValues[]> {
  const rows = rowFilterSql(filter);
  let rest = [...surveys];
  let within: { session: string; time: InValue; id: InValue } | null = after;
  const read = (): Promise<MetricValues[]> | null => {
    if (!within && rest.length === 0) return null;
    const rs = within
      ? db.execute({
          sql: `SELECT ${SELECT_LIST} FROM survey_metrics m WHERE m.session_id = ? AND (m.timestamp_ms, m.id) > (?, ?)${rows.sql} ORDER BY m.timestamp_ms, m.id LIMIT ?`,
          args: [within.session, within.time, within.id, ...rows.args, pageRows],
        })
      : db.execute({
          sql: `SELECT ${SELECT_LIST} FROM survey_metrics m WHERE m.session_id IN (SELECT value FROM json_each(?))${rows.sql} ORDER BY m.session_id, m.timestamp_ms, m.id LIMIT ?`,
          args: [JSON.stringify(rest), ...rows.args, pageRows],
        });
    // The client's rows are read by index as they are: copying a page would double what the edge allocates per page.
    const page = rs.then((r) => r.rows as unknown as MetricValues[]);
    page.catch(() => undefined); // a read still under way when the caller stops must not be an unhandled rejection
    return page;
  };
  let pending = read();
  while (pending) {
    const page = await pending;
    const last = page[page.length - 1];
    if (page.length < pageRows || !last) {
      // The read reached the end of what it covered: a finished survey, or every survey left.
      if (within) within = null;
      else rest = [];
    } else {
      const session = String(last[SESSION_COL]);
      within = { session, time: last[TIME_COL] as InValue, id: last[ID_COL] as InValue };
      rest = rest.slice(rest.indexOf(session) + 1);
    }
    pending = read();
    if (page.length > 0) yield page;
  }
}

/**
 * Every metric row of the selected surveys, page by page: survey ids in chunks, each chunk's rows in bounded pages;
 * with `after`, only the rows past that position (a background export continuing where its last step stopped).
 */
export async function* exportMetricPages(
  db: Db,
  sel: SurveySelection,
  filter: MetricFilter = {},
  pageRows = DEFAULT_PAGE_ROWS,
  after: RowPosition | null = null,
): AsyncGenerator<MetricValues[]> {
  const rowFilter = { liveRowsOnly: sel.deleted === 'false', ...filter };
  if (after) yield* metricPagesOf(db, [], rowFilter, pageRows, after);
  let afterSurvey: string | null = after?.session ?? null;
  for (;;) {
    const ids = await selectSurveyIds(db, sel, afterSurvey);
    if (ids.length === 0) return;
    yield* metricPagesOf(db, ids, rowFilter, pageRows);
    if (ids.length < SURVEY_CHUNK) return;
    afterSurvey = ids[ids.length - 1] ?? null;
  }
}

/** `"name":` of each column, made once. */
const JSON_KEYS = METRIC_COLUMNS.map((c, i) => (i === 0 ? '{' : ',') + JSON.stringify(c) + ':');

/** A row as one JSON object keyed by column name, in column order; numbers as JSON writes them (String(n), exact). */
export function metricJson(values: MetricValues): string {
  let out = '';
  for (let i = 0; i < JSON_KEYS.length; i++) {
    const v = values[i] ?? null;
    out += JSON_KEYS[i] + (typeof v === 'bigint' ? String(v) : JSON.stringify(v));
  }
  return out + '}';
}
