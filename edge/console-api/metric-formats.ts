// How exported metric rows become bytes: the formats of GET /api/surveys/export, a survey's metrics, and the
// background export jobs (edge/exports/), one encoder for all so a job's file is byte for byte the streamed one.
import { csvLine } from '../../shared/csv.js';
import { METRIC_COLUMNS, metricJson, type MetricValues } from '../../shared/db/metric-export.js';

/** How rows become bytes in one format: text before the rows, each page's text, text after. */
export interface RowFormat {
  contentType: string;
  head: string;
  page(rows: MetricValues[], first: boolean): string;
  tail: string;
}

/** Each row's text, one after the other. */
function joinRows(rows: MetricValues[], line: (r: MetricValues) => string, sep = ''): string {
  let out = '';
  for (let i = 0; i < rows.length; i++) out += (i > 0 ? sep : '') + line(rows[i]!);
  return out;
}

/** Each format's encoder. In the line formats (csv, ndjson) `page([row])` is that row's line, pages simply follow one another. */
export const FORMATS: Record<'csv' | 'ndjson' | 'json', RowFormat> = {
  csv: { contentType: 'text/csv; charset=utf-8', head: csvLine(METRIC_COLUMNS), page: (rows) => joinRows(rows, csvLine), tail: '' },
  ndjson: { contentType: 'application/x-ndjson', head: '', page: (rows) => joinRows(rows, (r) => metricJson(r) + '\n'), tail: '' },
  json: { contentType: 'application/json', head: '[', page: (rows, first) => (first ? '' : ',') + joinRows(rows, metricJson, ','), tail: ']' },
};
