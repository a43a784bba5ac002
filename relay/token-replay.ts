/**
 * Single use of relay tokens. An in-memory set suffices: a token is addressed
 * to one relay (`aud`) and only that relay process verifies it, so no other
 * process can have seen it; entries are dropped once their token has expired
 * (an expired token is refused on its `exp` anyway).
 */
export interface ReplayGuard {
  /** True the first time `jti` is seen before `expMs`; false for every later use. */
  firstUse(jti: string, expMs: number, nowMs?: number): boolean;
  /** Tokens remembered now (for tests). */
  size(): number;
}

/** How often expired entries are swept: bounded work per call, memory bounded by the token lifetime's calls. */
const SWEEP_EVERY_MS = 5_000;

/** A fresh guard. */
export function createReplayGuard(): ReplayGuard {
  const seen = new Map<string, number>();
  let nextSweep = 0;
  return {
    firstUse(jti, expMs, nowMs = Date.now()) {
      if (nowMs >= nextSweep) {
        for (const [id, exp] of seen) if (exp <= nowMs) seen.delete(id);
        nextSweep = nowMs + SWEEP_EVERY_MS;
      }
      if (seen.has(jti)) return false;
      seen.set(jti, expMs);
      return true;
    },
    size: () => seen.size,
  };
}
