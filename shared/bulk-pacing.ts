/**
 * The bulk sender of the throughput test, the same on the relay
 * (node-datachannel) and in the client (W3C data channel): it keeps about one
 * bandwidth-delay product queued in the channel, refilling on
 * buffered-amount-low, so the sender's own queue never grows beyond what the
 * path drains in a round trip.
 */

/** What the pacer needs of a data channel; each side adapts its own API. */
export interface PacedChannel {
  /** Bytes queued in the channel and not yet handed to the transport. */
  buffered(): number;
  /** Queues one message; throws once the channel is gone. */
  send(payload: Uint8Array<ArrayBuffer>): void;
  isOpen(): boolean;
  setLowThreshold(bytes: number): void;
  /** Calls `fn` each time the queue drains to the low threshold; returns the unsubscribe. */
  onLow(fn: () => void): () => void;
}

export interface PacingOptions {
  /** The latest round trip of the path (ms); 0 or less while none is known. */
  rttMs: () => number;
  /** Called with the size of every message queued. */
  onSent: (bytes: number) => void;
  now?: () => number;
}

export interface BulkPacer {
  stop(): void;
  /** The queue the pacer keeps now (bytes): the measured rate × RTT, within the floor and ceiling. */
  readonly target: number;
}

/** One bulk message: the bulk channel's 64 KiB limit, so the receiver handles as few messages per byte as it can. */
export const BULK_CHUNK_BYTES = 64 * 1024;
/** Never less than this queued: a few chunks keep a fast path busy between two low events. */
export const PACE_FLOOR_BYTES = 64 * 1024;
/** Never more, however fat the path: memory stays bounded. */
export const PACE_CEILING_BYTES = 4 * 1024 * 1024;
/** The rate is re-measured over spans of at least this long. */
const RATE_SPAN_MS = 100;
/** Round trip assumed until one is known: a WAN-like 50 ms. */
const DEFAULT_RTT_MS = 50;

/** The queue to keep for a drain rate (bytes/s) and a round trip (ms): one bandwidth-delay product, clamped. */
export function paceTarget(rateBytesPerS: number, rttMs: number): number {
  const bdp = rateBytesPerS * ((rttMs > 0 ? rttMs : DEFAULT_RTT_MS) / 1000);
  return Math.round(Math.min(PACE_CEILING_BYTES, Math.max(PACE_FLOOR_BYTES, bdp)));
}

/**
 * Sends bulk data on `ch` as fast as the path drains it, with about one
 * bandwidth-delay product queued: it fills the queue to the target and
 * refills when it drains to half of it. The fill always goes past the low
 * threshold, so the low event is certain to come (a fill that stops below
 * it never hears from the channel again: the stall this replaces). A channel
 * that closes or throws just ends it.
 */
export function startBulkPacer(ch: PacedChannel, opts: PacingOptions): BulkPacer {
  const now = opts.now ?? (() => performance.now());
  const payload = new Uint8Array(BULK_CHUNK_BYTES);
  let stopped = false;
  let queued = 0;
  let target = PACE_FLOOR_BYTES;
  let spanStart = now();
  let spanDrained = 0;
  let rate = 0;

  const measure = () => {
    const t = now();
    const drained = queued - ch.buffered();
    if (t - spanStart < RATE_SPAN_MS) return;
    const spanRate = ((drained - spanDrained) * 1000) / (t - spanStart);
    rate = rate === 0 ? spanRate : 0.7 * rate + 0.3 * spanRate;
    spanStart = t;
    spanDrained = drained;
    const next = paceTarget(rate, opts.rttMs());
    if (next !== target) {
      target = next;
      ch.setLowThreshold(target >> 1);
    }
  };

  const fill = () => {
    if (stopped) return;
    try {
      measure();
      while (!stopped && ch.isOpen() && ch.buffered() < target) {
        ch.send(payload);
        queued += payload.length;
        opts.onSent(payload.length);
      }
    } catch {
      stop();
    }
  };

  let unsubscribe = () => {};
  const stop = () => {
    stopped = true;
    unsubscribe();
  };
  try {
    ch.setLowThreshold(target >> 1);
    unsubscribe = ch.onLow(fill);
  } catch {
    stopped = true;
  }
  fill();
  return {
    stop,
    get target() {
      return target;
    },
  };
}
