// A graceful stop: the relay takes no new peer, lets running surveys go on up to a bound, then tells the rest.
import type { Logger } from './log.js';

/** How long running surveys may go on once a drain starts, unless RELAY_DRAIN_S says otherwise (15 min). */
export const DEFAULT_DRAIN_MS = 900_000;

/** How long the peers told at the bound get to close before the relay stops anyway (their `error` needs 0.5 s). */
const TOLD_CLOSE_MS = 3_000;

export interface Drain {
  /** True once a drain has started (the relay's registry row says `draining`; GET /ready answers 503). */
  readonly draining: boolean;
  /** Starts the drain, once; resolves when no peer is left, or at the bound once the remaining ones were told and closed. */
  start(): Promise<void>;
  /** Tells the drain a peer went away (it may have been the last). */
  peerGone(): void;
}

/**
 * The drain's timeline. `peers` counts what the relay holds (sessions and calls under way); `markDraining`
 * takes the relay out of the edges' choice; `endRemaining` tells each remaining peer why and closes it.
 */
export function createDrain(opts: {
  boundMs: number;
  peers: () => number;
  markDraining: () => Promise<void>;
  endRemaining: () => void;
  log: Logger;
}): Drain {
  let started: Promise<void> | null = null;
  let idle: (() => void) | null = null;
  const idleNow = () => {
    if (opts.peers() === 0) idle?.();
  };
  /** Resolves when no peer is left, or after `ms` (false then). */
  const untilIdle = (ms: number) =>
    new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), ms);
      idle = () => {
        clearTimeout(timer);
        resolve(true);
      };
      idleNow();
    });
  const run = async () => {
    opts.log('info', 'draining: no new peers; running surveys may go on', { peers: opts.peers(), bound_s: Math.round(opts.boundMs / 1000) });
    await opts.markDraining();
    if (await untilIdle(opts.boundMs)) {
      opts.log('info', 'drained: no peer left');
      return;
    }
    opts.log('warn', 'drain bound reached: the remaining surveys are told and closed', { peers: opts.peers() });
    opts.endRemaining();
    await untilIdle(TOLD_CLOSE_MS);
  };
  return {
    get draining() {
      return started !== null;
    },
    start() {
      started ??= run();
      return started;
    },
    peerGone: idleNow,
  };
}
