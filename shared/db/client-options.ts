// The options every Node process opens a libSQL database with (the edge has no file databases).

/**
 * How long a statement on a local file waits for another process's lock before SQLITE_BUSY. Without it a COMMIT
 * fails at once on any reader's lock, and four processes migrating one file together kept failing each other's
 * commits until the retries ran out (35 s) on a loaded machine; waiting inside SQLite holds the pending lock, which
 * lets the readers drain and keeps new ones out.
 */
export const FILE_BUSY_TIMEOUT_MS = 5_000;

/** `createClient`'s options for `url`: a busy timeout for `file:` databases, the token for remote ones. */
export function libsqlOptions(url: string, authToken?: string): { url: string; authToken?: string; timeout?: number } {
  return { url, ...(authToken ? { authToken } : {}), ...(url.startsWith('file:') ? { timeout: FILE_BUSY_TIMEOUT_MS } : {}) };
}
