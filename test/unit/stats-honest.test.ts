// Crafted sequences for the definitions that keep the instrument honest (PROTOCOL.md §2): sender pauses
// are not loss, outages are, IPDV pairs consecutive seqs, loaded windows never move the baseline, and
// every probe is echoed once so RTT is not selected by delay.
import { describe, expect, it } from 'vitest';
import { createProbeEndpoint } from '../../shared/probe/endpoint.js';
import type { Schedule } from '../../shared/probe/tick-group.js';
import { aggregateStats, createReceiver, recordProbe, recordSenderReport, takeReport, windowCounts, type DirectionStats, type ReceiverState } from '../../shared/stats/index.js';

const T0 = 1_764_000_000_000;

/** A sender as the receiver sees it: sends probes at chosen times, reports once a second. */
function sender(s: ReceiverState) {
  let seq = 0;
  let paused = 0;
  return {
    /** Sends one probe at `at`; it arrives after `delay` ms unless `lost`. */
    send(at: number, delay = 20, lost = false) {
      const q = seq++;
      if (!lost) recordProbe(s, q, at, at + delay);
      return q;
    },
    pause(ms: number) {
      paused += ms;
    },
    /** The sender_report, received at `at`. */
    report(at: number) {
      expect(recordSenderReport(s, { last_seq: seq - 1, sent: seq, paused_ms: paused }, at)).toBe(true);
    },
  };
}

describe('sender accounting', () => {
  it('a 1 s pause of the sender is 0 % loss and 0 % reordering, reported as sender_paused_ms', () => {
    const s = createReceiver();
    const tx = sender(s);
    const windows: DirectionStats[] = [];
    // Second 0: 100 probes. Second 1: the sender stalls for the whole second (GC, overloaded relay).
    // Second 2: it resumes with the next seq. Reports come once a second, as the protocol says.
    for (let i = 0; i < 100; i++) tx.send(T0 + i * 10);
    tx.report(T0 + 1000);
    windows.push(takeReport(s, T0 + 1000));
    tx.pause(1000);
    tx.report(T0 + 2000);
    windows.push(takeReport(s, T0 + 2000));
    for (let i = 0; i < 100; i++) tx.send(T0 + 2000 + i * 10);
    tx.report(T0 + 3000);
    windows.push(takeReport(s, T0 + 3000));
    tx.report(T0 + 4000);
    windows.push(takeReport(s, T0 + 4000, { senderStopped: true }));
    for (const w of windows) {
      expect(w.loss_rate).toBe(0);
      expect(w.reorder_rate).toBe(0);
    }
    expect(windows[1]!.sender_paused_ms).toBe(1000);
    expect(windows[1]!.probe_count).toBe(0);
    const all = aggregateStats(windows);
    expect(all).toMatchObject({ loss_rate: 0, reorder_rate: 0, probe_count: 200, probes_expected: 200, sender_paused_ms: 1000 });
  });

  it('a background tab (one timer tick a second for 10 s, 5 probes a tick) is 0 % loss and reordering, 950 ms paused a second', () => {
    const s = createReceiver();
    const tx = sender(s);
    const windows: DirectionStats[] = [];
    for (let sec = 0; sec < 10; sec++) {
      const t = T0 + sec * 1000;
      // The throttled timer fires once; the ticker catches up 5 ticks and skips the other 95.
      for (let i = 0; i < 5; i++) tx.send(t + i * 0.01);
      tx.pause(950);
      tx.report(t + 1);
      windows.push(takeReport(s, t + 999));
    }
    windows.push(takeReport(s, T0 + 10_999, { senderStopped: true }));
    const all = aggregateStats(windows);
    expect(all).toMatchObject({ loss_rate: 0, reorder_rate: 0, probe_count: 50, probes_expected: 50, sender_paused_ms: 9500 });
    for (const w of windows.slice(1, 10)) expect(w.sender_paused_ms).toBe(950);
  });

  it('without reports (an older peer), the same pause is still extrapolated as loss: the reason for sender_report', () => {
    const s = createReceiver();
    for (let i = 0; i < 100; i++) recordProbe(s, i, T0 + i * 10, T0 + i * 10 + 20);
    const w = takeReport(s, T0 + 2000);
    expect(w.loss_rate).toBeGreaterThan(0);
  });

  it('settles a lost tail burst from the sender report, Tmax after it arrived once the next report shows no pause', () => {
    const s = createReceiver({ lossTmaxMs: 500 });
    const tx = sender(s);
    for (let i = 0; i < 100; i++) tx.send(T0 + i * 10, 20, i >= 90);
    tx.report(T0 + 1000);
    const early = takeReport(s, T0 + 1400);
    // Only seqs below an arrival Tmax old have settled so far: 0..89 minus what arrived too recently.
    expect(early.loss_rate).toBe(0);
    // Tmax after the report, but no later report yet says the sender did not stall with 90..99 still queued.
    const waiting = takeReport(s, T0 + 1500);
    expect(waiting.lost_count).toBe(0);
    // The next report (nothing more sent: the stream ended with the burst) shows no pause: the burst is loss.
    tx.report(T0 + 1600);
    const late = takeReport(s, T0 + 1600);
    const total = aggregateStats([early, waiting, late]);
    expect(total.probes_expected).toBe(100);
    expect(total.loss_rate).toBe(10);
    expect(late.lost_count).toBe(10);
  });

  it('probes queued in the sender when it stalls are late, not lost: the report that overtook them waits for the next one', () => {
    // At 75 ms each way SCTP's congestion window keeps probes queued in the sender while its sender_report, on
    // another stream, leaves at once. The sender (process and SCTP stack) then stalls for 1.5 s: probes 90..99,
    // sent before the report, arrive after the stall; the next report says 1.5 s of pause.
    const s = createReceiver({ lossTmaxMs: 500 });
    const tx = sender(s);
    for (let i = 0; i < 90; i++) tx.send(T0 + i * 10, 75);
    const queued: number[] = [];
    for (let i = 90; i < 100; i++) queued.push(tx.send(T0 + i * 10, 0, true));
    tx.report(T0 + 1000);
    const windows = [takeReport(s, T0 + 1000), takeReport(s, T0 + 2000)];
    // Tmax after the report the 10 queued probes had not come (the old rule counted them lost here).
    for (const q of queued) expect(recordProbe(s, q, T0 + (q - 90) * 10 + 900, T0 + 2550)).toBe('in_order');
    tx.pause(1500);
    tx.report(T0 + 2600);
    for (let i = 0; i < 100; i++) tx.send(T0 + 2600 + i * 10, 75);
    tx.report(T0 + 3600);
    windows.push(takeReport(s, T0 + 3000), takeReport(s, T0 + 4000), takeReport(s, T0 + 5000, { senderStopped: true }));
    const all = aggregateStats(windows);
    expect(all).toMatchObject({ lost_count: 0, late_count: 0, probes_expected: 200, probe_count: 200, sender_paused_ms: 1500 });
  });

  it('probes 1.2 s behind their reports (a queue in the sender, no pause) are neither lost nor late: arrivals settle them while they still come', () => {
    // Under load at 75 ms SCTP's congestion window let the queue grow to most of a second (RTT p50 800 ms).
    const s = createReceiver({ lossTmaxMs: 500 });
    const windows: DirectionStats[] = [];
    // In time order: probe q sent at T0 + 10q arrives 1.2 s later; a report each second; a window each second.
    const events: { at: number; run: () => void }[] = [];
    for (let q = 0; q < 500; q++) events.push({ at: T0 + q * 10 + 1200, run: () => void recordProbe(s, q, T0 + q * 10, T0 + q * 10 + 1200) });
    for (let k = 1; k <= 5; k++) events.push({ at: T0 + k * 1000 + 0.5, run: () => void recordSenderReport(s, { last_seq: k * 100 - 1, sent: k * 100, paused_ms: 0 }, T0 + k * 1000 + 0.5) });
    for (let k = 1; k <= 6; k++) events.push({ at: T0 + k * 1000 + 1, run: () => windows.push(takeReport(s, T0 + k * 1000 + 1)) });
    // Stopped after the fifth report; its queue drains by T0+6190, the last window closes Tmax after that.
    events.push({ at: T0 + 6700, run: () => windows.push(takeReport(s, T0 + 6700, { senderStopped: true })) });
    for (const e of events.sort((a, b) => a.at - b.at)) e.run();
    const all = aggregateStats(windows);
    expect(all).toMatchObject({ lost_count: 0, late_count: 0, probes_expected: 500, probe_count: 500 });
  });

  it('a report with no pause before the next one settles Tmax after it, so a lost burst counts in time', () => {
    const s = createReceiver({ lossTmaxMs: 500 });
    const tx = sender(s);
    // 90..99 lost in the network; the next report (no pause) arrives before the first one is Tmax old.
    for (let i = 0; i < 100; i++) tx.send(T0 + i * 10, 20, i >= 90);
    tx.report(T0 + 1000);
    tx.report(T0 + 1200);
    expect(takeReport(s, T0 + 1500)).toMatchObject({ probes_expected: 100, lost_count: 10 });
  });

  it('a total outage of 5 s out of 10 s is 50 % loss over the 10 s, whenever the reports arrive', () => {
    const s = createReceiver();
    const tx = sender(s);
    const windows: DirectionStats[] = [];
    for (let sec = 0; sec < 10; sec++) {
      const t = T0 + sec * 1000;
      const down = sec >= 3 && sec < 8;
      for (let i = 0; i < 100; i++) tx.send(t + i * 10, 20, down);
      // The reliable control channel is down too: its reports arrive after the outage.
      if (!down) tx.report(t + 1000);
      windows.push(takeReport(s, t + 1000));
    }
    tx.report(T0 + 10_000);
    windows.push(takeReport(s, T0 + 11_000, { senderStopped: true }));
    const all = aggregateStats(windows);
    expect(all.probes_expected).toBe(1000);
    expect(all.loss_rate).toBe(50);
    expect(all.reorder_rate).toBe(0);
  });

  it('refuses a report that goes backwards or jumps implausibly, changing nothing', () => {
    const s = createReceiver();
    expect(recordSenderReport(s, { last_seq: 99, sent: 100, paused_ms: 10 }, T0)).toBe(true);
    expect(recordSenderReport(s, { last_seq: 98, sent: 100, paused_ms: 10 }, T0)).toBe(false);
    expect(recordSenderReport(s, { last_seq: 99, sent: 100, paused_ms: 5 }, T0)).toBe(false);
    expect(recordSenderReport(s, { last_seq: 10_000_000, sent: 10_000_001, paused_ms: 10 }, T0)).toBe(false);
    expect(takeReport(s, T0 + 1).sender_paused_ms).toBe(10);
  });
});

describe('RFC 5481 IPDV over consecutive seqs', () => {
  it('pairs n and n+1 only when both arrived: a loss breaks its two pairs, arrival order does not matter', () => {
    const s = createReceiver();
    const delay = [20, 21, 23, 20, 20, 50, 40, 41, 41, 40];
    // Seq 5 is lost; seqs 7 and 8 arrive swapped.
    for (const q of [0, 1, 2, 3, 4, 6, 8, 7, 9]) recordProbe(s, q, T0 + q * 10, T0 + q * 10 + delay[q]!);
    const r = takeReport(s, T0 + 2000, { senderStopped: true });
    // Pairs 0-1 1-2 2-3 3-4 6-7 7-8 8-9: |1| |2| |3| |0| |1| |0| |1|. Consecutive arrivals would pair 4 with 6 (20 ms).
    expect(r.jitter_ms).toEqual([1, 3, 0, 3]);
    expect(r.loss_rate).toBe(10);
    expect(r.reorder_rate).toBeCloseTo((1 / 9) * 100, 10);
  });
});

describe('latency under load is kept apart from the baseline', () => {
  it('20 ms base, 80 ms while loaded: deviation reads 60 ms for every loaded second, the baseline stays 20 ms', () => {
    const s = createReceiver({ baselineSeconds: 3 });
    let seq = 0;
    const second = (delay: number, loaded: boolean) => {
      for (let i = 0; i < 100; i++, seq++) recordProbe(s, seq, T0 + seq * 10, T0 + seq * 10 + delay);
      return takeReport(s, T0 + seq * 10 + delay + 500, { loaded });
    };
    second(20, false);
    second(20, false);
    const loaded = Array.from({ length: 8 }, () => second(80, true));
    for (const w of loaded) {
      expect(w.delay_deviation_ms).toEqual([60, 60, 60, 60]);
      expect(w.baseline_delay_ms).toBe(20);
      expect(w.loaded).toBe(true);
    }
    // Back to idle: the queue drained, no deviation.
    expect(second(20, false).delay_deviation_ms).toEqual([0, 0, 0, 0]);
  });

  it('with no unloaded window yet, deviation is null (never measured against the loaded window itself), and the loaded delays never become the baseline', () => {
    const s = createReceiver();
    // Two loaded seconds at 80..89 ms before any idle one: nothing honest to deviate from.
    let q = 0;
    const loaded = [1, 2].map((sec) => {
      for (; q < sec * 100; q++) recordProbe(s, q, T0 + q * 10, T0 + q * 10 + 80 + (q % 10));
      // Closed just after the second's last arrival: no seq is overdue, nothing is extrapolated.
      return takeReport(s, T0 + sec * 1000 + 100, { loaded: true });
    });
    for (const w of loaded) {
      expect(w.delay_deviation_ms).toBeNull();
      expect(w.probe_count).toBe(100);
    }
    // Over both, still no figure: a summary leaves it out rather than showing 0.
    expect(aggregateStats(loaded).delay_deviation_ms).toBeNull();
    // The first idle second (20 ms) makes the baseline: its own deviation is 0, then a loaded second reads 60..69.
    for (; q < 300; q++) recordProbe(s, q, T0 + q * 10, T0 + q * 10 + 20);
    const idle = takeReport(s, T0 + 3100);
    expect(idle.baseline_delay_ms).toBe(20);
    expect(idle.delay_deviation_ms).toEqual([0, 0, 0, 0]);
    for (; q < 400; q++) recordProbe(s, q, T0 + q * 10, T0 + q * 10 + 80 + (q % 10));
    const after = takeReport(s, T0 + 4100, { loaded: true });
    // Delays 80..89, ten of each: p50 is the 50th (84), p99 the 99th (89), min 80, max 89; minus 20.
    expect(after.delay_deviation_ms).toEqual([64, 69, 60, 69]);
    // Aggregating all four: only the two seconds with a baseline merge. From their sketches: 100 deviations of 0 and
    // ten each of 60..69, so p50 is the 100th (0) and p99 the 198th (69, within the sketch's 1 %); min 0, max 69.
    const merged = aggregateStats([...loaded, idle, after]);
    expect(merged.percentiles).toBe('merged');
    const [p50, p99, min, max] = merged.delay_deviation_ms!;
    expect([p50, min, max]).toEqual([0, 0, 69]);
    expect(Math.abs(p99 - 69)).toBeLessThanOrEqual(0.69);
    // Without sketches (an older peer): median of the p50s 0 and 64 by nearest rank (0), the largest p99.
    const bare = [...loaded, idle, after].map(({ sketches: _s, sketch_format: _f, ...rest }) => rest);
    expect(aggregateStats(bare).delay_deviation_ms).toEqual([0, 69, 0, 69]);
    expect(aggregateStats(bare).percentiles).toBe('per_second_approx');
  });
});

describe('every probe echoed once', () => {
  /** Two endpoints on a simulated path: a→b delays cycle 10/16/22/28 ms (reordering), b→a is 10 ms; b sends 5 ms after a. */
  function simulate(seconds: number) {
    let now = T0;
    const events: { at: number; run: () => void }[] = [];
    const at = (t: number, run: () => void) => events.push({ at: t, run });
    const manual = (): { schedule: Schedule; fire: () => void } => {
      let tick: (() => void) | null = null;
      return { schedule: (onTick) => ((tick = onTick), { stop: () => (tick = null), skipped: 0 }), fire: () => tick?.() };
    };
    const sa = manual();
    const sb = manual();
    let aSeq = 0;
    const a = createProbeEndpoint({ sendDirection: 'c2s', connId: 'c', now: () => now, schedule: sa.schedule, send: (t) => void at(now + [10, 16, 22, 28][aSeq++ % 4]!, () => b.receive(t)) });
    const echoed: number[] = [];
    const b = createProbeEndpoint({
      sendDirection: 's2c',
      connId: 'c',
      now: () => now,
      schedule: sb.schedule,
      send: (t) => {
        for (const e of (JSON.parse(t) as { echoes?: { seq: number }[] }).echoes ?? []) echoed.push(e.seq);
        at(now + 10, () => a.receive(t));
      },
    });
    a.start();
    b.start();
    for (let i = 0; i < seconds * 100; i++) {
      at(T0 + i * 10, sa.fire);
      at(T0 + i * 10 + 5, sb.fire);
    }
    while (events.length) {
      events.sort((x, y) => x.at - y.at);
      const e = events.shift()!;
      now = e.at;
      e.run();
    }
    return { a, b, end: now, echoed };
  }

  it('yields one RTT sample per probe that made the round trip, so quick probes are not favoured', () => {
    const { a, end, echoed } = simulate(2);
    // Every probe a sent that reached b before b's last probe went out is echoed exactly once.
    expect(new Set(echoed).size).toBe(echoed.length);
    expect(echoed.length).toBeGreaterThanOrEqual(197);
    const r = a.report(end + 1000, { senderStopped: true });
    // 200 probes sent by a; each echoed by b's next probe (b sends every 10 ms), except those after b's last.
    const samples = r.rtt_ms;
    // True round trips are 10+10, 16+10, 22+10, 28+10 ms plus the hold, which the echo subtracts: 20/26/32/38 in equal shares.
    expect(samples[2]).toBeCloseTo(20, 9);
    expect(samples[3]).toBeCloseTo(38, 9);
    expect(samples[0]).toBeCloseTo(26, 9);
    expect(windowCounts(r).received).toBe(200);
  });
});
