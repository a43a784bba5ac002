import { startTicker, type SlipSummary, type Ticker } from './ticker.js';

/** A member's handle: its stop, and the ticks it missed because the process was too far behind. */
export interface ScheduleHandle {
  stop(): void;
  readonly skipped: number;
}

/** Runs `onTick` every interval until the returned stop. */
export type Schedule = (onTick: () => void) => ScheduleHandle;

export interface TickGroup {
  /** Joins the group: the member's ticks come from the group's one timer. */
  schedule: Schedule;
  /** How late the group's timer fired (ms), over its recent ticks. */
  slip(): SlipSummary;
  /** Forgets the slip samples so far (e.g. the start-up of a benchmark). */
  resetSlip(): void;
}

/**
 * One drift-free ticker shared by many probe senders: a relay with hundreds of
 * sessions runs one timer per interval instead of one per session. It runs
 * only while it has members.
 */
export function createTickGroup(intervalMs: number, now?: () => number): TickGroup {
  const members = new Set<() => void>();
  let ticker: Ticker | null = null;
  let lastSlip: SlipSummary = { p50: 0, p99: 0, max: 0, samples: 0 };
  const fire = () => {
    for (const m of members) {
      try {
        m();
      } catch {
        // One member's failure must not cost the others their tick.
      }
    }
  };
  return {
    schedule(onTick) {
      // Each member gets its own function identity, so the same callback may join twice.
      const member = () => onTick();
      members.add(member);
      ticker ??= startTicker(intervalMs, fire, now);
      const group = ticker;
      const skippedAtJoin = group.skipped;
      return {
        get skipped() {
          return group.skipped - skippedAtJoin;
        },
        stop() {
          members.delete(member);
          if (members.size === 0 && ticker) {
            lastSlip = ticker.slip();
            ticker.stop();
            ticker = null;
          }
        },
      };
    },
    slip: () => ticker?.slip() ?? lastSlip,
    resetSlip: () => ticker?.resetSlip(),
  };
}
