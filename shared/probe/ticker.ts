import { nowMs } from '../time.js';
import { nearestRank } from '../stats/percentiles.js';

export interface SlipSummary {
  p50: number;
  p99: number;
  max: number;
  samples: number;
}

export interface Ticker {
  stop(): void;
  /** Ticks fired so far. */
  readonly ticks: number;
  /** Ticks given up because the process was too far behind to catch up. */
  readonly skipped: number;
  /** How late ticks fired against their schedule (ms), over the recent ones. */
  slip(): SlipSummary;
  /** Forgets the slip samples so far (e.g. the start-up of a benchmark). */
  resetSlip(): void;
}

const SLIP_SAMPLES = 6_000;

/**
 * Calls `onTick` every `intervalMs` on an absolute schedule (start + n·interval),
 * so timer lateness never accumulates into drift: a late wake-up fires the due
 * ticks at once, up to `maxCatchUp`; beyond that the rest are skipped and counted.
 */
export function startTicker(intervalMs: number, onTick: () => void, now: () => number = nowMs, maxCatchUp = 5): Ticker {
  const start = now();
  let n = 0;
  let skipped = 0;
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const slips: number[] = [];
  let slipAt = 0;

  const schedule = () => {
    if (stopped) return;
    const target = start + (n + 1) * intervalMs;
    timer = setTimeout(fire, Math.max(0, target - now()));
  };
  const fire = () => {
    if (stopped) return;
    const t = now();
    let due = Math.floor((t - start) / intervalMs) - n;
    if (due > maxCatchUp) {
      skipped += due - maxCatchUp;
      n += due - maxCatchUp;
      due = maxCatchUp;
    }
    for (let i = 0; i < due && !stopped; i++) {
      n++;
      const slip = t - (start + n * intervalMs);
      if (slips.length < SLIP_SAMPLES) slips.push(slip);
      else slips[slipAt++ % SLIP_SAMPLES] = slip;
      onTick();
    }
    schedule();
  };
  schedule();

  return {
    stop: () => {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
    get ticks() {
      return n - skipped;
    },
    get skipped() {
      return skipped;
    },
    resetSlip: () => {
      slips.length = 0;
      slipAt = 0;
    },
    slip: () => {
      const sorted = [...slips].sort((a, b) => a - b);
      return { p50: nearestRank(sorted, 50), p99: nearestRank(sorted, 99), max: sorted.at(-1) ?? 0, samples: sorted.length };
    },
  };
}
