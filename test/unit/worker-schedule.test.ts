import { afterEach, describe, expect, it } from 'vitest';
import { workerClock } from '../../page/worker-schedule.js';

/** A stand-in for the tick worker: records what the page asks of it and lets the test fire its ticks. */
class FakeWorker extends EventTarget {
  static last: FakeWorker | null = null;
  sent: { cmd: string; id: number; interval_ms?: number }[] = [];
  constructor() {
    super();
    FakeWorker.last = this;
  }
  postMessage(m: { cmd: string; id: number; interval_ms?: number }): void {
    this.sent.push(m);
  }
  tick(id: number, skipped: number): void {
    this.dispatchEvent(Object.assign(new Event('message'), { data: { id, skipped } }));
  }
}

const original = (globalThis as { Worker?: unknown }).Worker;
afterEach(() => {
  (globalThis as { Worker?: unknown }).Worker = original;
});

describe('the page clock', () => {
  it('drives every connection of an interval from one worker timer; each counts the ticks skipped since it joined', () => {
    (globalThis as { Worker?: unknown }).Worker = FakeWorker;
    const every = workerClock('/tick-worker.js');
    const ticks = [0, 0, 0];
    const a = every(10)(() => ticks[0]!++);
    const b = every(10)(() => ticks[1]!++);
    const w = FakeWorker.last!;
    // One timer started for both 10 ms members.
    expect(w.sent).toEqual([{ cmd: 'start', id: 1, interval_ms: 10 }]);
    w.tick(1, 0);
    w.tick(1, 2);
    expect(ticks).toEqual([2, 2, 0]);
    // A member joining after 2 skipped ticks counts only what is skipped after it.
    const c = every(10)(() => ticks[2]!++);
    w.tick(1, 5);
    expect(ticks).toEqual([3, 3, 1]);
    expect([a.skipped, b.skipped, c.skipped]).toEqual([5, 5, 3]);
    // Another interval is a timer of its own; the 10 ms one stops with its last member.
    every(1000)(() => {});
    expect(w.sent.at(-1)).toEqual({ cmd: 'start', id: 2, interval_ms: 1000 });
    a.stop();
    b.stop();
    expect(w.sent.some((m) => m.cmd === 'stop')).toBe(false);
    c.stop();
    expect(w.sent.at(-1)).toEqual({ cmd: 'stop', id: 1 });
    w.tick(1, 5);
    expect(ticks).toEqual([3, 3, 1]);
  });
});
