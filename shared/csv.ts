// CSV (RFC 4180) both ways: fields written so any text survives, and an incremental reader for streamed files.

/** A cell as the database gives it: NULL, a number (REAL or INTEGER), a bigint, or text. */
export type CsvValue = string | number | bigint | boolean | null | undefined;

const NEEDS_QUOTES = /[",\r\n]|^\s|\s$/;

/**
 * One field: NULL as an empty field, numbers exactly as the engine holds them
 * (String(n) is the shortest text that reads back as the same double), text
 * quoted when it holds a comma, quote, line break or edge spaces, and the
 * empty string as `""` so it stays apart from NULL.
 */
export function csvField(v: CsvValue): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') {
    if (v === '') return '""';
    return NEEDS_QUOTES.test(v) ? `"${v.replaceAll('"', '""')}"` : v;
  }
  if (typeof v === 'boolean') return v ? '1' : '0';
  return String(v);
}

/** One record, CRLF-terminated as RFC 4180 says. */
export function csvLine(values: ArrayLike<CsvValue>): string {
  let out = values.length > 0 ? csvField(values[0]) : '';
  for (let i = 1; i < values.length; i++) out += ',' + csvField(values[i]);
  return out + '\r\n';
}

/** A parsed field: null for an empty unquoted field (NULL), else its text. */
export type CsvCell = string | null;

/**
 * Reads CSV that arrives in pieces: `push` returns the records completed so
 * far, `end` the last one. A quoted field may span pieces and line breaks.
 */
export function createCsvReader(): { push(text: string): CsvCell[][]; end(): CsvCell[][] } {
  let field = '';
  let quoted = false; // the current field started with a quote
  let inQuotes = false; // inside its quotes now
  let pendingQuote = false; // saw a quote inside quotes: either the closing one or the first of `""`
  let started = false; // the current record has begun
  let record: CsvCell[] = [];

  const endField = () => {
    record.push(quoted ? field : field === '' ? null : field);
    field = '';
    quoted = false;
  };

  const push = (text: string): CsvCell[][] => {
    const out: CsvCell[][] = [];
    for (let i = 0; i < text.length; i++) {
      const ch = text[i] as string;
      if (pendingQuote) {
        pendingQuote = false;
        if (ch === '"') {
          field += '"';
          continue;
        }
        inQuotes = false;
      }
      if (inQuotes) {
        if (ch === '"') pendingQuote = true;
        else field += ch;
        continue;
      }
      started = true;
      if (ch === '"' && field === '' && !quoted) {
        quoted = true;
        inQuotes = true;
      } else if (ch === ',') endField();
      else if (ch === '\n') {
        endField();
        out.push(record);
        record = [];
        started = false;
      } else if (ch === '\r') {
        // Part of CRLF; a lone CR inside a field is only kept when quoted.
      } else field += ch;
    }
    return out;
  };

  return {
    push,
    end: () => {
      if (pendingQuote) {
        pendingQuote = false;
        inQuotes = false;
      }
      if (inQuotes) throw new Error('CSV ends inside a quoted field');
      if (!started) return [];
      endField();
      const last = record;
      record = [];
      started = false;
      return [last];
    },
  };
}

/** Parses a whole CSV text into records. */
export function parseCsv(text: string): CsvCell[][] {
  const r = createCsvReader();
  return [...r.push(text), ...r.end()];
}
