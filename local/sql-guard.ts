// Statements the local database server never runs, found by SQLite's own token rules.
//
// libsql 0.5's authorizer can only allow-list tables (it denies functions,
// BEGIN and CREATE with them), so it cannot just forbid ATTACH. These are
// keywords, which SQLite matches case-insensitively and never inside a
// string, quoted identifier or comment, and which cannot be quoted
// themselves: scanning the tokens the way SQLite's tokenizer does finds
// every use. Where the scan and SQLite could disagree it errs towards
// refusing (e.g. `:attach` as a parameter name is refused too).

/** Keywords refused anywhere in a request's SQL, with why. */
const REFUSED: ReadonlyMap<string, string> = new Map([
  ['attach', 'ATTACH would open or create another database file'],
  ['detach', 'DETACH belongs with ATTACH'],
  ['vacuum', 'VACUUM INTO would write a copy of the database to any file'],
]);

/** SQLite's identifier characters: ASCII letters, digits, `_`, `$`, and every non-ASCII character. */
const isIdChar = (code: number) =>
  (code >= 0x30 && code <= 0x39) || (code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a) || code === 0x5f || code === 0x24 || code >= 0x80;

/** Why `sql` is refused, or null when it uses none of the refused keywords outside strings, quoted names and comments. */
export function refusedSql(sql: string): string | null {
  // SQLite stops reading at a NUL; the scan would not, so neither is allowed to see one.
  if (sql.includes('\0')) return 'SQL text must not contain NUL characters';
  let i = 0;
  const n = sql.length;
  while (i < n) {
    const c = sql[i]!;
    if (c === '-' && sql[i + 1] === '-') {
      const end = sql.indexOf('\n', i + 2);
      i = end < 0 ? n : end + 1;
    } else if (c === '/' && sql[i + 1] === '*') {
      const end = sql.indexOf('*/', i + 2);
      i = end < 0 ? n : end + 2;
    } else if (c === "'" || c === '"' || c === '`') {
      i = quotedEnd(sql, i, c);
    } else if (c === '[') {
      const end = sql.indexOf(']', i + 1);
      i = end < 0 ? n : end + 1;
    } else if (isIdChar(sql.charCodeAt(i))) {
      let j = i + 1;
      while (j < n && isIdChar(sql.charCodeAt(j))) j++;
      const why = REFUSED.get(sql.slice(i, j).toLowerCase());
      if (why) return `${why}; the local database server does not run it`;
      i = j;
    } else {
      i++;
    }
  }
  return null;
}

/** Index just past a string or quoted identifier opened at `start`; a doubled quote stays inside, as in SQLite. */
function quotedEnd(sql: string, start: number, quote: string): number {
  let i = start + 1;
  for (;;) {
    const end = sql.indexOf(quote, i);
    if (end < 0) return sql.length;
    if (sql[end + 1] !== quote) return end + 1;
    i = end + 2;
  }
}
