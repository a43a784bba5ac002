import type { Db } from '../shared/db/client.js';
import { findMagicKeysByHash, KEY_REFUSAL_WORDS, keyState } from '../shared/db/keys.js';
import { sha256Hex } from '../shared/signing.js';
import type { Logger } from './log.js';
import type { Session } from './session.js';

/** How often the keys of live sessions are checked: a revoked or expired key's sessions end within this plus a query. */
export const DEFAULT_KEY_CHECK_MS = 3_000;

export interface KeyWatch {
  /** Stops checking; resolves once a check under way is done. */
  stop(): Promise<void>;
}

/**
 * Ends the live sessions whose magic key was revoked or has expired since
 * signaling: every `everyMs`, one query looks up the keys of all live
 * sessions by their hashes. A key the database does not hold is left alone
 * (a relay signaled directly, not through the edge); a failed check is logged
 * once and made again next period.
 */
export function startKeyWatch(
  db: Db,
  log: Logger,
  opts: { everyMs: number; live: () => Iterable<Session>; end: (s: Session, code: 'key_revoked' | 'key_expired', message: string) => void },
): KeyWatch {
  // Hashes of the keys of live sessions, kept while any session holds the key.
  const hashes = new Map<string, string>();
  const check = async () => {
    const byKey = new Map<string, Session[]>();
    for (const s of opts.live()) {
      if (!s.magicKey || s.closed) continue;
      const group = byKey.get(s.magicKey);
      if (group) group.push(s);
      else byKey.set(s.magicKey, [s]);
    }
    for (const k of hashes.keys()) if (!byKey.has(k)) hashes.delete(k);
    if (byKey.size === 0) return;
    for (const k of byKey.keys()) if (!hashes.has(k)) hashes.set(k, await sha256Hex(k));
    const found = await findMagicKeysByHash(db, [...byKey.keys()].map((k) => hashes.get(k)!));
    const now = Date.now();
    for (const [text, sessions] of byKey) {
      const key = found.get(hashes.get(text)!);
      const state = key ? keyState(key, now) : 'valid';
      if (state === 'valid') continue;
      log('info', 'ending the sessions of a key no longer valid', { state, sessions: sessions.length });
      for (const s of sessions) opts.end(s, state, `${KEY_REFUSAL_WORDS[state]}; this survey has ended`);
    }
  };
  let running: Promise<void> | null = null;
  let failing = false;
  const timer = setInterval(() => {
    if (running) return;
    running = check()
      .then(
        () => {
          if (failing) log('info', 'key check of live sessions resumed');
          failing = false;
        },
        (e: unknown) => {
          if (!failing) log('warn', 'key check of live sessions failed; trying again', { error: String((e as Error).message ?? e) });
          failing = true;
        },
      )
      .finally(() => (running = null));
  }, opts.everyMs);
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
