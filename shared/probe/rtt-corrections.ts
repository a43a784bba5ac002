import type { ProbeSendReport } from '../protocol/probe.js';

/** Peer probes whose RTT samples wait for their send report at once; beyond this the oldest fall back to the estimate. */
const MAX_WAITING = 64;
/** Send reports that arrived before the probe they describe (reordering), kept for it. */
const MAX_EARLY = 64;
/**
 * How long a sample waits for its correction: the report rides on the peer's next probe, 10 ms later unless
 * that one is lost or the peer paused; after this the sample keeps the peer's estimate (an older peer never reports).
 */
export const CORRECTION_WAIT_MS = 100;

export interface RttCorrections {
  /** RTT samples from the echoes carried by the peer's probe `carrier`, arrived at `atMs`: held for the report of that probe's send. */
  add(carrier: number, samples: readonly number[], atMs: number): void;
  /** The peer's report of how long its send of a probe took: that probe's samples are corrected and recorded. */
  report(r: ProbeSendReport): void;
  /** Records with the peer's estimate every sample held since before `atMs` − CORRECTION_WAIT_MS (all of them when `all`). */
  expire(atMs: number, all?: boolean): void;
}

/**
 * RTT samples held until the echoing side says how long the send that carried
 * their echoes really took. An echo's `held_ms` is sent before that send is
 * timed, so it can only hold an estimate (the median of recent sends); with
 * send costs spread over 0.02–0.62 ms that is off by up to 0.3 ms per sample.
 * The peer reports the real duration in its next probe (`send_ms`), and each
 * sample is moved by the difference before it is recorded.
 */
export function createRttCorrections(record: (rttMs: number) => void): RttCorrections {
  /** By the carrier's seq, in arrival order (so oldest first). */
  const waiting = new Map<number, { at: number; samples: readonly number[] }>();
  /** Correction (real send time − estimate) by seq, for reports that overtook their probe. */
  const early = new Map<number, number>();

  const flush = (carrier: number, fix: number) => {
    const w = waiting.get(carrier);
    if (!w) return false;
    waiting.delete(carrier);
    for (const rtt of w.samples) record(rtt - fix);
    return true;
  };

  return {
    add(carrier, samples, atMs) {
      if (samples.length === 0) return;
      const fix = early.get(carrier);
      if (fix !== undefined) {
        early.delete(carrier);
        for (const rtt of samples) record(rtt - fix);
        return;
      }
      if (waiting.size >= MAX_WAITING) flush(waiting.keys().next().value!, 0);
      waiting.set(carrier, { at: atMs, samples });
    },
    report(r) {
      const fix = r.ms - r.est_ms;
      if (flush(r.seq, fix)) return;
      if (early.size >= MAX_EARLY) early.delete(early.keys().next().value!);
      early.set(r.seq, fix);
    },
    expire(atMs, all = false) {
      for (const [carrier, w] of waiting) {
        if (!all && atMs - w.at < CORRECTION_WAIT_MS) break;
        flush(carrier, 0);
      }
      if (all) early.clear();
    },
  };
}
