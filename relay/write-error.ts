/**
 * Why a database write failed, which decides what the metric writer does with its rows:
 * - `transport`: the database was unreachable, busy or slow; the same rows are retried later, nothing is dropped;
 * - `statement`: the database (or the client encoding the arguments) refuses a statement; retrying cannot help;
 * - `unknown`: neither is certain; the writer narrows it down to one row and checks that the database answers.
 */
export type WriteFailure = 'transport' | 'statement' | 'unknown';

/** SQLite result codes that say the database is unavailable, not that the statement is wrong. */
const SQLITE_TRANSPORT = /^SQLITE_(BUSY|LOCKED|IOERR|FULL|CANTOPEN|PROTOCOL|NOMEM|INTERRUPT|NOTADB|CORRUPT|READONLY|PERM|ABORT)/;
/** Codes of the libSQL server (sqld/Turso) or client that are about the statement's text or arguments. */
const SERVER_STATEMENT = new Set(['SQL_PARSE_ERROR', 'SQL_INPUT_ERROR', 'SQL_NO_STATEMENT', 'SQL_MANY_STATEMENTS', 'ARGS_INVALID', 'ARGS_BOTH_POSITIONAL_AND_NAMED']);

/** An attempt that took longer than the writer's timeout: counted as a transport failure. */
export class WriteTimeoutError extends Error {
  readonly code = 'WRITE_TIMEOUT';
}

/** Classifies an error thrown by a libSQL batch write. */
export function classifyWriteError(e: unknown): WriteFailure {
  if (e instanceof WriteTimeoutError) return 'transport';
  const code = errorCode(e);
  if (code.startsWith('SQLITE_')) return SQLITE_TRANSPORT.test(code) ? 'transport' : 'statement';
  if (SERVER_STATEMENT.has(code)) return 'statement';
  // Any other coded error (HRANA_*, SERVER_ERROR, CLIENT_CLOSED, ECONNREFUSED, UND_ERR_*, ...) is about reaching the database.
  if (code !== '') return 'transport';
  // undici's fetch reports network failures as `TypeError: fetch failed` with the socket error as its cause.
  if (e instanceof TypeError && (e.message === 'fetch failed' || (e as { cause?: unknown }).cause !== undefined)) return 'transport';
  // The client throws these while encoding arguments (Infinity, NaN, undefined): the statement never left.
  if (e instanceof RangeError || e instanceof TypeError) return 'statement';
  return 'unknown';
}

/** A short, bounded label for an error (its code or class name), for counting refusals by kind without a line per row. */
export function errorKind(e: unknown): string {
  const extended = (e as { extendedCode?: unknown } | null)?.extendedCode;
  return (typeof extended === 'string' && extended) || errorCode(e) || (e instanceof Error ? e.name : typeof e);
}

function errorCode(e: unknown): string {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : '';
}
