// A survey with very many metric rows, seeded in one statement, and a reader that counts a streamed export without keeping it.
import type { Client } from '@libsql/client';

/**
 * Inserts a survey on `magicKey` with `rows` metric rows in one INSERT over a
 * recursive CTE. The REAL columns get full-length doubles (x/7, x/3 + 0.1, ...)
 * so each CSV line is about 350 bytes, as real rows are; every 10th row has NULLs.
 */
export async function seedManyMetricRows(db: Client, surveyId: string, magicKey: string, rows: number, t0 = 1_700_000_000_000): Promise<void> {
  await db.execute({
    sql: 'INSERT INTO survey_sessions (session_id, magic_key, start_time, last_update_time, created_at) VALUES (?, ?, ?, ?, ?)',
    args: [surveyId, magicKey, t0, t0 + rows, t0],
  });
  await db.execute({
    sql: `WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < ?)
      INSERT INTO survey_metrics (session_id, timestamp_ms, source, conn_id, direction,
        delay_p50_ms, delay_p99_ms, delay_min_ms, delay_max_ms, jitter_p50_ms, jitter_p99_ms, jitter_min_ms, jitter_max_ms,
        rtt_p50_ms, rtt_p99_ms, rtt_min_ms, rtt_max_ms, loss_rate, reorder_rate, probe_count, baseline_delay_ms, created_at,
        probes_expected, late_count, sender_paused_ms, loaded, throughput_bps, loss_tmax_ms, row_key)
      SELECT ?, ? + x, CASE x % 2 WHEN 0 THEN 'server' ELSE 'client' END, 'conn-' || (x % 4), CASE x % 2 WHEN 0 THEN 'c2s' ELSE 's2c' END,
        x / 7.0, x / 3.0 + 0.1, x / 11.0, x / 13.0 + 0.2, x / 17.0, x / 19.0, x / 23.0, x / 29.0,
        x / 31.0 + 1, x / 37.0 + 1, CASE WHEN x % 10 = 0 THEN NULL ELSE x / 41.0 END, x / 43.0 + 2, (x % 100) / 300.0, (x % 50) / 700.0, 100, x / 47.0, ? + x,
        100, x % 3, CASE WHEN x % 10 = 0 THEN NULL ELSE x / 53.0 END, x % 2, x * 1234.567, 1000.0, ? || '/' || x
      FROM n`,
    args: [rows, surveyId, t0, t0, surveyId],
  });
}

export interface StreamTally {
  bytes: number;
  /** Lines, the header included. */
  lines: number;
  /** The first `keep` lines and the last line, as text without the line break. */
  firstLines: string[];
  lastLine: string;
}

/**
 * Reads a line-oriented body (CSV without line breaks in fields, or NDJSON)
 * to the end, counting bytes and lines and keeping only its first and last
 * lines, so a body of hundreds of MB costs the reader no memory.
 */
export async function tallyLines(body: ReadableStream<Uint8Array>, keep = 3): Promise<StreamTally> {
  const tally: StreamTally = { bytes: 0, lines: 0, firstLines: [], lastLine: '' };
  const decoder = new TextDecoder();
  let tail: Uint8Array = new Uint8Array(0);
  let head = '';
  const reader = body.getReader();
  for (;;) {
    const { value: chunk, done } = await reader.read();
    if (done) break;
    tally.bytes += chunk.length;
    if (tally.firstLines.length < keep) head += decoder.decode(chunk, { stream: true });
    let nl = -1;
    let at = chunk.indexOf(10);
    while (at !== -1) {
      tally.lines++;
      nl = at;
      at = chunk.indexOf(10, at + 1);
    }
    // Keep what follows the last complete line (plus that line) so the final line can be read at the end.
    if (nl === -1) tail = concat(tail, chunk);
    else {
      const before = nl === 0 ? -1 : chunk.lastIndexOf(10, nl - 1);
      tail = before === -1 ? concat(tail, chunk) : chunk.slice(before + 1);
    }
    if (tally.firstLines.length < keep) tally.firstLines = head.split('\n').slice(0, -1).slice(0, keep).map(stripCr);
  }
  const lines = new TextDecoder().decode(tail).split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  else tally.lines++; // a last line without its line break
  tally.lastLine = stripCr(lines[lines.length - 1] ?? '');
  return tally;
}

const stripCr = (s: string) => (s.endsWith('\r') ? s.slice(0, -1) : s);

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
