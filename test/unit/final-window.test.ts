// The last window of a stopped stream: when it closes, on a hand-driven clock.
import { describe, expect, it } from 'vitest';
import { waitFinalWindow } from '../../shared/probe/final-window.js';

/** A clock and timer list driven by hand: `run(until)` fires every timer due by then, in order. */
function handClock() {
  let now = 0;
  const timers: { at: number; fire: () => void }[] = [];
  return {
    now: () => now,
    after: (ms: number, fire: () => void) => void timers.push({ at: now + ms, fire }),
    run(until: number) {
      for (;;) {
        timers.sort((a, b) => a.at - b.at);
        const t = timers[0];
        if (!t || t.at > until) break;
        timers.shift();
        now = t.at;
        t.fire();
      }
      now = until;
    },
  };
}

describe('the last window after the stop', () => {
  it('stays open while the far side’s queued probes still arrive after its last report, and closes 600 ms after the last one', () => {
    const c = handClock();
    let closedAt: number | null = null;
    // We stopped at 0; the far side's last report came at 100 (it overtook probes queued in its SCTP).
    const w = waitFinalWindow(() => (closedAt = c.now()), { stoppedAt: 0, peerStoppedAt: 100, now: c.now, after: c.after });
    // Its queue drains: probes arrive until 900.
    for (let at = 150; at <= 900; at += 50) {
      c.run(at);
      w.probeArrived(at);
    }
    c.run(1499);
    // Without the wait it closed at 700, with the probes of 700..900 still to come (counted lost).
    expect(closedAt).toBeNull();
    c.run(3000);
    expect(closedAt).toBe(1500);
  });

  it('closes 600 ms after the far side’s last report when no probe comes after it', () => {
    const c = handClock();
    let closedAt: number | null = null;
    const w = waitFinalWindow(() => (closedAt = c.now()), { stoppedAt: 0, peerStoppedAt: null, now: c.now, after: c.after });
    c.run(200);
    w.probeArrived(150);
    w.peerStopped(200);
    c.run(5000);
    expect(closedAt).toBe(800);
  });

  it('closes at most 6 s after the stop however long probes keep coming', () => {
    const c = handClock();
    let closedAt: number | null = null;
    const w = waitFinalWindow(() => (closedAt = c.now()), { stoppedAt: 0, peerStoppedAt: 100, now: c.now, after: c.after });
    for (let at = 100; at <= 10_000; at += 10) {
      c.run(at);
      if (closedAt === null) w.probeArrived(at);
    }
    expect(closedAt).toBe(6000);
  });
});
