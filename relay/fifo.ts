/** A first-in first-out queue whose shift and take are O(1) per item (an array's shift moves every element). */
export interface Fifo<T> {
  readonly length: number;
  push(item: T): void;
  /** Removes and returns the oldest item. */
  shift(): T | undefined;
  /** Removes and returns up to `n` oldest items, oldest first. */
  take(n: number): T[];
  clear(): void;
}

/** An empty FIFO queue. */
export function createFifo<T>(): Fifo<T> {
  let items: (T | undefined)[] = [];
  let head = 0;
  // Dropping the consumed front once it is at least half the array keeps memory bounded at O(1) amortized cost.
  const compact = () => {
    if (head > 1024 && head * 2 >= items.length) {
      items = items.slice(head);
      head = 0;
    }
  };
  return {
    get length() {
      return items.length - head;
    },
    push(item) {
      items.push(item);
    },
    shift() {
      if (head >= items.length) return undefined;
      const item = items[head];
      items[head++] = undefined;
      compact();
      return item;
    },
    take(n) {
      const out = items.slice(head, head + n) as T[];
      items.fill(undefined, head, head + out.length);
      head += out.length;
      compact();
      return out;
    },
    clear() {
      items = [];
      head = 0;
    },
  };
}
