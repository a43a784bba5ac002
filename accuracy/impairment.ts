// What the forwarder does to each datagram of one direction, and in what order they leave: pure logic, no sockets, no clock.
import { mulberry32 } from './prng.js';

/** The impairment of one direction. */
export interface ImpairmentSpec {
  /** Base one-way delay added to every datagram. */
  delayMs: number;
  /** Each datagram's delay is delayMs + uniform(−jitterMs, +jitterMs), never below 0. */
  jitterMs: number;
  /** Probability (percent) that an impairable datagram is dropped. */
  lossPct: number;
  /** Probability (percent) that an impairable datagram is held back until the next one has left. */
  reorderPct: number;
  /** A bottleneck: datagrams leave one after another at this rate (Mbit/s of UDP payload) before the delay applies. */
  rateMbps?: number;
  /** Its drop-tail queue: a datagram that would wait longer than this to start leaving is dropped (default 100 ms). */
  queueMs?: number;
}

export interface Decision {
  drop: boolean;
  /** Dropped by the bottleneck's full queue (drop-tail), not by the seeded loss. */
  tailDrop?: boolean;
  /** How long it waited in the bottleneck's queue before it started leaving (0 without a bottleneck). */
  queuedMs?: number;
  /** Held back so that the next impairable datagram overtakes it. */
  hold: boolean;
  delayMs: number;
}

/**
 * A seeded decision maker. Every call draws the same three numbers whatever
 * the datagram, so the n-th datagram's fate depends only on the seed and n.
 * Datagrams that are not impairable (handshakes, pure SCTP control) get the
 * delay but are never dropped or held.
 */
export function createImpairer(spec: ImpairmentSpec, seed: number): (impairable: boolean) => Decision {
  const rand = mulberry32(seed);
  return (impairable) => {
    const uLoss = rand();
    const uHold = rand();
    const uDelay = rand();
    const delayMs = Math.max(0, spec.delayMs + (2 * uDelay - 1) * spec.jitterMs);
    const drop = impairable && uLoss * 100 < spec.lossPct;
    return { drop, hold: impairable && !drop && uHold * 100 < spec.reorderPct, delayMs };
  };
}

/** A datagram waiting to leave. */
interface Waiting<T> {
  item: T;
  dueMs: number;
  /** Ties on dueMs leave in rank order: the arrival index, or just after its overtaker for a held datagram. */
  rank: number;
}

/** One direction's line: decisions in, datagrams out at their time and in their order. */
export interface DirectionLine<T> {
  /** A datagram of `bytes` arrives at `atMs`; returns what was done to it (`hold` is false if another was already held). */
  arrive(item: T, atMs: number, impairable: boolean, bytes?: number): Decision;
  /** Takes the datagrams due by `nowMs`, in the order they leave. */
  takeDue(nowMs: number): T[];
  /** When the next queued datagram is due; null when none is queued. */
  nextDueMs(): number | null;
  /** Queues a held datagram that no successor overtook within `holdLimitMs` (it leaves without being reordered). */
  releaseStale(nowMs: number): void;
  /** Datagrams still inside (queued or held). */
  readonly size: number;
}

/**
 * Builds a direction's line from its impairment and seed. The line is FIFO
 * (a datagram never leaves before one that arrived earlier: jitter varies the
 * delay but does not reorder, as in a real queue), so the only reordering is
 * the deliberate one: a held datagram waits for the next impairable one that
 * is not dropped, and leaves right after it, so exactly one overtakes it.
 */
export function createDirectionLine<T>(spec: ImpairmentSpec, seed: number, holdLimitMs = 100): DirectionLine<T> {
  const decide = createImpairer(spec, seed);
  const queue: Waiting<T>[] = [];
  let held: (Waiting<T> & { heldAt: number }) | null = null;
  let arrivals = 0;
  /** The latest due time queued so far: nothing after it may leave earlier. */
  let lastDue = -Infinity;
  /** When the bottleneck finishes sending what it holds. */
  let busyUntil = -Infinity;
  const queueLimitMs = spec.queueMs ?? 100;

  /** The bottleneck: serialises at the rate, drops at the tail when the wait would exceed the queue's limit. */
  const bottleneck = (atMs: number, bytes: number): { leaveAt: number; queuedMs: number } | null => {
    if (!spec.rateMbps) return { leaveAt: atMs, queuedMs: 0 };
    const start = Math.max(atMs, busyUntil);
    if (start - atMs > queueLimitMs) return null;
    busyUntil = start + (bytes * 8) / (spec.rateMbps * 1000);
    return { leaveAt: busyUntil, queuedMs: start - atMs };
  };

  const enqueue = (w: Waiting<T>) => {
    lastDue = Math.max(lastDue, w.dueMs);
    // Binary search for the first waiting entry that sorts after w.
    let lo = 0;
    let hi = queue.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const q = queue[mid]!;
      if (q.dueMs < w.dueMs || (q.dueMs === w.dueMs && q.rank < w.rank)) lo = mid + 1;
      else hi = mid;
    }
    queue.splice(lo, 0, w);
  };

  return {
    arrive(item, atMs, impairable, bytes = 0) {
      const decided = decide(impairable);
      if (decided.drop) return decided;
      const b = bottleneck(atMs, bytes);
      if (!b) return { ...decided, drop: true, tailDrop: true, hold: false };
      const d = { ...decided, queuedMs: b.queuedMs };
      const w: Waiting<T> = { item, dueMs: Math.max(b.leaveAt + d.delayMs, lastDue), rank: arrivals++ };
      if (d.hold && !held) {
        held = { ...w, heldAt: atMs };
        return d;
      }
      enqueue(w);
      if (impairable && held) {
        enqueue({ item: held.item, dueMs: Math.max(held.dueMs, w.dueMs), rank: w.rank + 0.5 });
        held = null;
      }
      return { ...d, hold: false };
    },
    takeDue(nowMs) {
      let n = 0;
      while (n < queue.length && queue[n]!.dueMs <= nowMs) n++;
      return queue.splice(0, n).map((w) => w.item);
    },
    nextDueMs: () => queue[0]?.dueMs ?? null,
    releaseStale(nowMs) {
      if (held && nowMs - held.heldAt >= holdLimitMs) {
        // Nothing impairable came to overtake it: it leaves at the back of the line.
        enqueue({ item: held.item, dueMs: Math.max(held.dueMs, lastDue), rank: arrivals - 0.5 });
        held = null;
      }
    },
    get size() {
      return queue.length + (held ? 1 : 0);
    },
  };
}
