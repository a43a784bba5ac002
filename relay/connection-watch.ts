import { ownTimeout } from './session-state.js';
import type { Session } from './session.js';

/** A connection the client has said nothing on for this long is closed. */
export const DEFAULT_IDLE_TIMEOUT_MS = 60_000;
/** No connection stays open longer than this (a forgotten tab). */
export const DEFAULT_MAX_CONNECTION_MS = 2 * 60 * 60_000;

/** Why a watched connection is ended. */
export type WatchEnd = 'idle_timeout' | 'connection_time_limit';

/**
 * Ends a connection once the client has sent nothing on it (no probe,
 * control or bulk message) for `idleMs`, and any connection once it has been
 * open for `maxMs`. Both timers belong to the connection (released when it
 * closes); the idle one is not reset by every message but re-armed, when it
 * fires, for the rest of the quiet time.
 */
export function watchConnection(s: Session, limits: { idleMs: number; maxMs: number }, end: (code: WatchEnd, message: string) => void): void {
  const arm = (ms: number) => ownTimeout(s.machine, ms, onIdle, 'connection');
  const onIdle = () => {
    if (s.closed) return;
    const quiet = Date.now() - s.lastHeardAt;
    if (quiet < limits.idleMs) return arm(limits.idleMs - quiet);
    end('idle_timeout', `this connection is closed: nothing was heard from it for ${words(limits.idleMs)}`);
  };
  arm(limits.idleMs);
  ownTimeout(
    s.machine,
    limits.maxMs,
    () => {
      if (!s.closed) end('connection_time_limit', `this connection is closed: a connection stays open for ${words(limits.maxMs)} at most; connect again to go on`);
    },
    'connection',
  );
}

/** A duration in words: "60 s", "2 h", "90 min". */
function words(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000} h`;
  if (ms % 60_000 === 0 && ms >= 120_000) return `${ms / 60_000} min`;
  return `${Math.round(ms / 100) / 10} s`;
}
