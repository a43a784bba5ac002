// What a logged-in person may see, as SQL: from a viewer already looked up, or from their session's token hash,
// for statements that run in the same batch as the viewer's own lookup (so a console read is one round trip).
import type { SqlCondition } from './survey-list.js';

/** A viewer's grants as SQL: whether they are an admin (known, or a condition), and a subquery of their granted key_ids. */
export interface GrantsSql {
  admin: boolean | SqlCondition;
  keyIds: SqlCondition;
}

/** The grants of a viewer already looked up. */
export function knownGrants(v: { role: 'admin' | 'analyst'; keys: readonly string[] }): GrantsSql {
  return { admin: v.role === 'admin', keyIds: { sql: 'SELECT value FROM json_each(?)', args: [JSON.stringify(v.keys)] } };
}

/**
 * The grants of the session with this token hash, read where the statement runs. They say nothing of
 * whether the session is live or its user enabled: the caller reads the viewer in the same batch and
 * discards the results when there is none.
 */
export function sessionGrants(tokenHash: string): GrantsSql {
  return {
    admin: { sql: "EXISTS (SELECT 1 FROM auth_sessions a JOIN users u ON u.login = a.login WHERE a.token_hash = ? AND u.role = 'admin')", args: [tokenHash] },
    keyIds: { sql: 'SELECT g.key_id FROM auth_sessions a JOIN key_grants g ON g.login = a.login WHERE a.token_hash = ?', args: [tokenHash] },
  };
}

/** "An admin, or `granted(keyIds)`"; a known role is folded in, so a known viewer's query stays the plain one. */
export function grantedCondition(g: GrantsSql, granted: (keyIds: SqlCondition) => SqlCondition): SqlCondition {
  if (g.admin === true) return { sql: '1', args: [] };
  const keys = granted(g.keyIds);
  if (g.admin === false) return keys;
  return { sql: `(${g.admin.sql} OR ${keys.sql})`, args: [...g.admin.args, ...keys.args] };
}
