// Keys as the console lists them: each key with its use (surveys started, last start), one query for all.
import type { Db } from './client.js';
import { keyState, type MagicKey } from './keys.js';

export interface KeyUsage {
  key: MagicKey;
  survey_count: number;
  last_used_at: number | null;
}

/** Keys with their survey count and last survey start, newest key first; only `keyIds` unless null (every key). */
export async function listKeysWithUsage(db: Db, keyIds: readonly string[] | null): Promise<KeyUsage[]> {
  const rs = await db.execute({
    sql: `SELECT k.*,
            (SELECT count(*) FROM survey_sessions s WHERE s.magic_key = k.key AND COALESCE(s.deleted, 0) = 0) AS survey_count,
            (SELECT max(s.start_time) FROM survey_sessions s WHERE s.magic_key = k.key) AS last_used_at
          FROM magic_keys k
          WHERE ? IS NULL OR k.key_id IN (SELECT value FROM json_each(?))
          ORDER BY k.created_at DESC, k.key_id`,
    args: [keyIds === null ? null : 1, JSON.stringify(keyIds ?? [])],
  });
  return rs.rows.map((r) => {
    const row = r as unknown as Record<string, unknown>;
    const num = (v: unknown) => (v == null ? null : Number(v));
    return {
      key: {
        key: String(row.key),
        key_id: String(row.key_id),
        label: String(row.label ?? ''),
        created_at: Number(row.created_at),
        expires_at: num(row.expires_at),
        revoked_at: num(row.revoked_at),
        max_measuring_ms: num(row.max_measuring_ms),
        max_concurrent_sessions: num(row.max_concurrent_sessions),
        created_by: row.created_by == null ? null : String(row.created_by),
      },
      survey_count: Number(row.survey_count ?? 0),
      last_used_at: num(row.last_used_at),
    };
  });
}

/** A key's state in the console's words. */
export function keyStatus(k: MagicKey, now = Date.now()): 'active' | 'expired' | 'revoked' {
  const s = keyState(k, now);
  return s === 'valid' ? 'active' : s === 'key_revoked' ? 'revoked' : 'expired';
}
