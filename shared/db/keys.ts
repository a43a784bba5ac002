import type { Db, InStatement, ResultSet } from './client.js';
import { randomToken } from '../ids.js';
import { sha256Hex } from '../signing.js';

/** A magic key as stored. Times are ms since epoch; null limits mean "none". */
export interface MagicKey {
  key: string;
  /** Names the key in URLs and logs without revealing it (keyIdOf). */
  key_id: string;
  label: string;
  created_at: number;
  expires_at: number | null;
  revoked_at: number | null;
  max_measuring_ms: number | null;
  max_concurrent_sessions: number | null;
  /** The login that created it; null for the CLI and local mode. */
  created_by: string | null;
}

/** A key's public name: the first 16 hex digits of its SHA-256 (64 bits, so never a collision in practice, and no way back to the key). */
export const keyIdOf = (keyHash: string): string => keyHash.slice(0, 16);

export interface NewMagicKey {
  label: string;
  ttlMs?: number | null;
  maxMeasuringMs?: number | null;
  maxConcurrentSessions?: number | null;
  /** Only for local mode's fixed demo key; real keys are always random. */
  key?: string;
  createdBy?: string | null;
}

/** Creates a key: 32 random bytes, so it cannot be guessed. */
export async function createMagicKey(db: Db, input: NewMagicKey, now = Date.now()): Promise<MagicKey> {
  const key = input.key ?? `np_${randomToken(32)}`;
  const hash = await sha256Hex(key);
  const row: MagicKey = {
    key,
    key_id: keyIdOf(hash),
    label: input.label,
    created_at: now,
    expires_at: input.ttlMs == null ? null : now + input.ttlMs,
    revoked_at: null,
    max_measuring_ms: input.maxMeasuringMs ?? null,
    max_concurrent_sessions: input.maxConcurrentSessions ?? null,
    created_by: input.createdBy ?? null,
  };
  await db.execute({
    sql: `INSERT INTO magic_keys (key, key_hash, key_id, label, created_at, expires_at, revoked_at, max_measuring_ms, max_concurrent_sessions, created_by)
          VALUES (?, ?, ?, ?, ?, ?, NULL, ?, ?, ?)`,
    args: [key, hash, row.key_id, row.label, now, row.expires_at, row.max_measuring_ms, row.max_concurrent_sessions, row.created_by],
  });
  return row;
}

/** Creates the local demo key if missing (local mode only), renewing it if it was revoked or expired. */
export async function ensureDemoKey(db: Db, key: string): Promise<void> {
  const hash = await sha256Hex(key);
  await db.execute({
    sql: `INSERT INTO magic_keys (key, key_hash, key_id, label, created_at, expires_at, revoked_at, max_measuring_ms, max_concurrent_sessions)
          VALUES (?, ?, ?, 'local demo key', ?, NULL, NULL, NULL, NULL)
          ON CONFLICT(key) DO UPDATE SET revoked_at = NULL, expires_at = NULL`,
    args: [key, hash, keyIdOf(hash), Date.now()],
  });
}

/** Every key, newest first. */
export async function listMagicKeys(db: Db): Promise<MagicKey[]> {
  const rs = await db.execute('SELECT * FROM magic_keys ORDER BY created_at DESC');
  return rs.rows.map((r) => toKey(r as unknown as Record<string, unknown>));
}

/** Marks a key revoked; false when no such key exists. */
export async function revokeMagicKey(db: Db, key: string, now = Date.now()): Promise<boolean> {
  const rs = await db.execute({
    sql: 'UPDATE magic_keys SET revoked_at = COALESCE(revoked_at, ?) WHERE key_hash = ?',
    args: [now, await sha256Hex(key)],
  });
  return rs.rowsAffected > 0;
}

/** Finds a key by its key_id. */
export async function findMagicKeyById(db: Db, keyId: string): Promise<MagicKey | null> {
  const rs = await db.execute({ sql: 'SELECT * FROM magic_keys WHERE key_id = ?', args: [keyId] });
  const row = rs.rows[0];
  return row ? toKey(row as unknown as Record<string, unknown>) : null;
}

/** Those of `keyIds` that name no key (a grant must never point at nothing). */
export async function missingKeyIds(db: Db, keyIds: readonly string[]): Promise<string[]> {
  if (!keyIds.length) return [];
  const rs = await db.execute({ sql: 'SELECT key_id FROM magic_keys WHERE key_id IN (SELECT value FROM json_each(?))', args: [JSON.stringify(keyIds)] });
  const found = new Set(rs.rows.map((r) => String(r.key_id)));
  return keyIds.filter((k) => !found.has(k));
}

/** Marks a key revoked by its key_id; false when no such key exists. */
export async function revokeMagicKeyById(db: Db, keyId: string, now = Date.now()): Promise<boolean> {
  const rs = await db.execute({ sql: 'UPDATE magic_keys SET revoked_at = COALESCE(revoked_at, ?) WHERE key_id = ?', args: [now, keyId] });
  return rs.rowsAffected > 0;
}

/** Finds a key by the hash of its text. */
export async function findMagicKey(db: Db, key: string): Promise<MagicKey | null> {
  return magicKeyFound(await db.execute(await findMagicKeyStatement(key)));
}

/** findMagicKey's query, for a caller that batches it with other statements; read its result with magicKeyFound. */
export async function findMagicKeyStatement(key: string): Promise<InStatement> {
  return magicKeyByHashStatement(await sha256Hex(key));
}

/** findMagicKeyStatement for a key already hashed. */
export function magicKeyByHashStatement(keyHash: string): InStatement {
  return { sql: 'SELECT * FROM magic_keys WHERE key_hash = ?', args: [keyHash] };
}

/** The key a findMagicKeyStatement result holds, or null. */
export function magicKeyFound(rs: ResultSet | undefined): MagicKey | null {
  const row = rs?.rows[0];
  return row ? toKey(row as unknown as Record<string, unknown>) : null;
}

/** The stored keys among these key hashes, by hash: one query however many (relays check their live sessions' keys). */
export async function findMagicKeysByHash(db: Db, hashes: readonly string[]): Promise<Map<string, MagicKey>> {
  const found = new Map<string, MagicKey>();
  if (hashes.length === 0) return found;
  const rs = await db.execute({ sql: 'SELECT * FROM magic_keys WHERE key_hash IN (SELECT value FROM json_each(?))', args: [JSON.stringify(hashes)] });
  for (const row of rs.rows) {
    const r = row as unknown as Record<string, unknown>;
    found.set(String(r.key_hash), toKey(r));
  }
  return found;
}

export type KeyState = 'valid' | 'key_expired' | 'key_revoked';

/** Codes of a key refused for what it is. */
export type KeyRefusal = 'key_invalid' | Exclude<KeyState, 'valid'>;

/** What a refused key is told, in words (the edge at signaling, the relay when it ends a live session). */
export const KEY_REFUSAL_WORDS: Readonly<Record<KeyRefusal, string>> = {
  key_invalid: 'this magic key is not known',
  key_expired: 'this magic key has expired',
  key_revoked: 'this magic key has been revoked',
};

/** Whether a stored key may be used at `now`. */
export function keyState(k: MagicKey, now = Date.now()): KeyState {
  if (k.revoked_at != null && k.revoked_at <= now) return 'key_revoked';
  if (k.expires_at != null && k.expires_at <= now) return 'key_expired';
  return 'valid';
}

/** A magic_keys row as a MagicKey. */
export function toKey(r: Record<string, unknown>): MagicKey {
  const num = (v: unknown) => (v == null ? null : Number(v));
  return {
    key: String(r.key),
    key_id: String(r.key_id),
    label: String(r.label ?? ''),
    created_at: Number(r.created_at),
    expires_at: num(r.expires_at),
    revoked_at: num(r.revoked_at),
    max_measuring_ms: num(r.max_measuring_ms),
    max_concurrent_sessions: num(r.max_concurrent_sessions),
    created_by: r.created_by == null ? null : String(r.created_by),
  };
}
