import { startTicker, type SlipSummary, type Ticker } from './ticker.js';

/** What a member of a group gets back: its own stop, the group's slip. */
export type Schedule = (onTick: () => void) => Pick<Ticker, 'stop' | 'slip' | 'resetSlip'>;

/**
 * One drift-free ticker shared by many probe senders: a relay with hundreds of
 * sessions runs one timer per interval instead of one per session. It runs
 * only while it has members.
 */
export function createTickGroup(intervalMs: number, now?: () => number): Schedule {
  const members = new Set<() => void>();
  let ticker: Ticker | null = null;
  let lastSlip: SlipSummary = { p50: 0, p99: 0, max: 0, samples: 0 };
  const fire = () => {
    for (const m of members) m();
  };
  return (onTick) => {
    // Each member gets its own function identity, so the same callback may join twice.
    const member = () => onTick();
    members.add(member);
    ticker ??= startTicker(intervalMs, fire, now);
    return {
      stop() {
        members.delete(member);
        if (members.size === 0 && ticker) {
          lastSlip = ticker.slip();
          ticker.stop();
          ticker = null;
        }
      },
      slip: () => ticker?.slip() ?? lastSlip,
      resetSlip: () => ticker?.resetSlip(),
    };
  };
}
