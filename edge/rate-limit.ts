import type { Db, InStatement, ResultSet } from '../shared/db/client.js';

export interface FailureLimit {
  /** Failed attempts a bucket may make per window. */
  limit: number;
  windowMs: number;
}

/** Where failures are counted: failed magic keys per address, failed logins per account and per address. */
export type FailureTable = 'key_failures' | 'login_failures';
const BUCKET_COLUMN: Record<FailureTable, string> = { key_failures: 'address', login_failures: 'bucket' };

/**
 * The address attempts are counted against: Cloudflare's CF-Connecting-IP
 * when the edge runs behind Cloudflare (which sets it, whatever the client
 * sent), else one shared local bucket, since on a local edge any caller could
 * pick a fresh address per request. IPv6 clients are counted per /64, since
 * one host can easily hold a whole /64.
 */
export function clientAddress(req: Request, config: { trustClientAddressHeader: boolean }): string {
  const ip = config.trustClientAddressHeader ? req.headers.get('cf-connecting-ip')?.trim() : undefined;
  if (!ip) return 'local';
  return ip.includes(':') ? ipv6Prefix64(ip) : ip;
}

/** The read of whether `address` has used up its failed attempts, for a batch; judge its result with rateLimited. */
export function rateLimitStatement(address: string, cfg: FailureLimit, now = Date.now()): InStatement {
  return { sql: 'SELECT count FROM key_failures WHERE address = ? AND window_start > ?', args: [address, now - cfg.windowMs] };
}

/** Whether a rateLimitStatement result says the address is locked; the window starts at its first failure, so a locked address is free again one window later. */
export function rateLimited(rs: ResultSet | undefined, cfg: FailureLimit): boolean {
  const row = rs?.rows[0];
  return row !== undefined && Number(row.count) >= cfg.limit;
}

/** Counts one failed attempt (unknown, expired or revoked key) and drops counters whose window has passed, in one round trip. */
export async function recordKeyFailure(db: Db, address: string, cfg: FailureLimit, now = Date.now()): Promise<void> {
  await countAttempt(db, 'key_failures', [{ bucket: address, limit: cfg.limit }], cfg.windowMs, now);
}

/** One bucket an attempt is counted in, and how many attempts it may hold in a window. */
export interface AttemptBucket {
  bucket: string;
  limit: number;
}

/** The statements of one counted attempt, and how their results say whether it is admitted (see countAttempt). */
export interface AttemptCount {
  statements: InStatement[];
  admitted(results: readonly ResultSet[]): boolean;
}

/**
 * Counts one attempt in each bucket, in order, before the attempt is judged, and answers whether every bucket
 * is still within its limit. One transaction: each count is an upsert that returns the new count, and a later
 * bucket is counted only while the earlier ones are within their limits, so parallel attempts cannot all pass
 * a check made before any of them was counted, and attempts an earlier bucket refuses never fill a later,
 * shared one (a stranger over their own limit does not use up the account's ceiling).
 */
export async function countAttempt(db: Db, table: FailureTable, buckets: readonly AttemptBucket[], windowMs: number, now = Date.now()): Promise<boolean> {
  const count = attemptCount(table, buckets, windowMs, now);
  return count.admitted(await db.batch(count.statements, 'write'));
}

/** countAttempt's statements, for a caller that runs more in the same write batch (one round trip); run them first, in order. */
export function attemptCount(table: FailureTable, buckets: readonly AttemptBucket[], windowMs: number, now = Date.now()): AttemptCount {
  const stale = now - windowMs;
  const col = BUCKET_COLUMN[table];
  // SQLite evaluates every SET expression against the row as it was, so both CASEs see the old window.
  // The SELECT's WHERE (always present) also keeps SQLite from reading ON CONFLICT as a join constraint.
  const upserts = buckets.map((b, i) => ({
    sql: `INSERT INTO ${table} (${col}, window_start, count)
          SELECT ?, ?, 1 WHERE ${['1', ...buckets.slice(0, i).map(() => `(SELECT count FROM ${table} WHERE ${col} = ?) <= ?`)].join(' AND ')}
          ON CONFLICT(${col}) DO UPDATE SET
            count = CASE WHEN window_start <= ? THEN 1 ELSE count + 1 END,
            window_start = CASE WHEN window_start <= ? THEN excluded.window_start ELSE window_start END
          RETURNING count`,
    args: [b.bucket, now, ...buckets.slice(0, i).flatMap((p) => [p.bucket, p.limit]), stale, stale],
  }));
  return {
    // Counters whose window has passed go in the same round trip.
    statements: [{ sql: `DELETE FROM ${table} WHERE window_start <= ?`, args: [stale] }, ...upserts],
    admitted: (results) =>
      buckets.every((b, i) => {
        const row = results[i + 1]?.rows[0];
        return row !== undefined && Number(row.count) <= b.limit;
      }),
  };
}

/** The statement that takes one attempt back out of buckets (a password that turned out right is not held against its address or account). */
export function uncountAttempt(table: FailureTable, buckets: readonly string[]): InStatement {
  const col = BUCKET_COLUMN[table];
  return { sql: `UPDATE ${table} SET count = count - 1 WHERE ${col} IN (SELECT value FROM json_each(?)) AND count > 0`, args: [JSON.stringify(buckets)] };
}

/** The statement that forgets a bucket's failures (a right password clears its address's failures with that account). */
export function clearFailures(bucket: string, table: FailureTable): InStatement {
  return { sql: `DELETE FROM ${table} WHERE ${BUCKET_COLUMN[table]} = ?`, args: [bucket] };
}

/** The first four hextets of an IPv6 address ("2001:db8:0:1::/64"); unparsable text is returned as is. */
export function ipv6Prefix64(ip: string): string {
  const [head = '', tail] = ip.toLowerCase().split('::', 2) as [string, string | undefined];
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = tail === undefined ? left : [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right];
  if (groups.length < 4 || groups.slice(0, 4).some((g) => !/^[0-9a-f]{1,4}$/.test(g))) return ip;
  return `${groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, '')).join(':')}::/64`;
}
