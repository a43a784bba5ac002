// Keys as the console lists them: each key with its use (surveys started, last start), one query for all.
import type { Db } from './client.js';
import { keyState, toKey, type MagicKey } from './keys.js';

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
    return { key: toKey(row), survey_count: Number(row.survey_count ?? 0), last_used_at: row.last_used_at == null ? null : Number(row.last_used_at) };
  });
}

/** A key's state in the console's words. */
export function keyStatus(k: MagicKey, now = Date.now()): 'active' | 'expired' | 'revoked' {
  const s = keyState(k, now);
  return s === 'valid' ? 'active' : s === 'key_revoked' ? 'revoked' : 'expired';
}
