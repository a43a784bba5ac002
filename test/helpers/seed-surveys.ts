// Many surveys in one transaction (a recursive CTE), for the console's list tests and bench.
import type { Client } from '@libsql/client';

/** `count` surveys of `magicKey` named `<prefix>-000001`…, two a second from `t0`, 60 s long; every third has two metric rows (two connections), every fifth a capture path. */
export async function seedSurveys(db: Client, opts: { count: number; magicKey: string; t0: number; prefix?: string; userLogin?: string }): Promise<void> {
  const prefix = opts.prefix ?? 'bulk';
  await db.batch(
    [
      {
        sql: `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
              INSERT INTO survey_sessions (session_id, magic_key, user_login, start_time, last_update_time, created_at, pcap_path)
              SELECT printf('%s-%06d', ?, i), ?, ?, ? + (i / 2) * 1000, ? + (i / 2) * 1000 + 60000, ? + (i / 2) * 1000,
                     CASE WHEN i % 5 = 0 THEN 'c.pcapng' END FROM n`,
        args: [opts.count, prefix, opts.magicKey, opts.userLogin ?? 'bulk-tech', opts.t0, opts.t0, opts.t0],
      },
      {
        sql: `INSERT INTO survey_metrics (session_id, timestamp_ms, source, conn_id, direction, loss_rate, reorder_rate, probe_count, created_at)
              SELECT s.session_id, s.start_time + 1000, 'server', c.conn, 'c2s', 0, 0, 100, s.start_time
                FROM survey_sessions s, (SELECT 'c1' AS conn UNION ALL SELECT 'c2') c
               WHERE s.magic_key = ? AND substr(s.session_id, 1, length(?) + 1) = ? || '-' AND CAST(substr(s.session_id, length(?) + 2) AS INTEGER) % 3 = 0`,
        args: [opts.magicKey, prefix, prefix, prefix],
      },
    ],
    'write',
  );
}
