/**
 * Received probes waiting to be echoed, oldest first, in a fixed ring of
 * numbers: no object per probe and no array shifting on the probe path.
 * When full, a new arrival pushes the oldest out (it goes unechoed).
 */
export interface EchoQueue {
  readonly length: number;
  /** Appends one received probe: its seq, its sent_at_ms, and when it arrived. */
  push(seq: number, sentAtMs: number, receivedAtMs: number): void;
  /** The k-th waiting probe's fields, 0 the oldest. */
  seqAt(k: number): number;
  sentAtAt(k: number): number;
  receivedAtAt(k: number): number;
  /** Removes the `n` oldest (they were echoed). */
  drop(n: number): void;
}

/** An empty queue holding at most `capacity` probes. */
export function createEchoQueue(capacity: number): EchoQueue {
  const seqs = new Float64Array(capacity);
  const sentAt = new Float64Array(capacity);
  const receivedAt = new Float64Array(capacity);
  let head = 0;
  let length = 0;
  const slot = (k: number) => (head + k) % capacity;
  return {
    get length() {
      return length;
    },
    push(seq, sentAtMs, receivedAtMs) {
      if (length === capacity) {
        head = (head + 1) % capacity;
        length--;
      }
      const i = slot(length);
      seqs[i] = seq;
      sentAt[i] = sentAtMs;
      receivedAt[i] = receivedAtMs;
      length++;
    },
    seqAt: (k) => seqs[slot(k)]!,
    sentAtAt: (k) => sentAt[slot(k)]!,
    receivedAtAt: (k) => receivedAt[slot(k)]!,
    drop(n) {
      const m = Math.min(n, length);
      head = (head + m) % capacity;
      length -= m;
    },
  };
}
