// Finding 6 of issue 17 on crafted sequences: the edges of a survey. A start the receiver heard late is not
// loss (counting starts at the first arrival), and at 300 ms RTT the last window waits for the far side's
// last sender_report plus Tmax, so probes lost just before the far side stopped are counted.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { FINAL_REPORT_WAIT_MS, waitFinalWindow } from '../../shared/probe/final-window.js';
import { aggregateStats, awaitFirstArrival, createReceiver, recordProbe, recordSenderReport, takeReport, type DirectionStats } from '../../shared/stats/index.js';

const T0 = 1_764_000_000_000;

afterEach(() => vi.useRealTimers());

/** Probes lost in a window, from its counts. */
const lostIn = (w: DirectionStats) => Math.round((w.loss_rate / 100) * (w.probes_expected ?? 0));

describe('a delayed start is not loss', () => {
  it('start_probe_streams heard 1 s late: the 100 probes sent before it are not expected, the first window is 0 % loss', () => {
    const s = createReceiver();
    // The client started sending at T0; the relay listened only from T0 + 1000 (usrsctp's 1 s retransmit of the
    // start): seqs 0..99 arrived before it and were not taken. From then on nothing is lost.
    const windows: DirectionStats[] = [];
    for (let sec = 1; sec <= 3; sec++) {
      for (let i = 0; i < 100; i++) {
        const seq = sec * 100 + i;
        recordProbe(s, seq, T0 + seq * 10, T0 + seq * 10 + 20);
      }
      expect(recordSenderReport(s, { last_seq: sec * 100 + 99, sent: sec * 100 + 100, paused_ms: 0 }, T0 + (sec + 1) * 1000 + 20)).toBe(true);
      windows.push(takeReport(s, T0 + (sec + 1) * 1000 + 30));
    }
    windows.push(takeReport(s, T0 + 5_000, { senderStopped: true }));
    expect(windows[0]).toMatchObject({ loss_rate: 0, probe_count: 100 });
    expect(windows[0]!.probes_expected).toBeGreaterThan(0);
    const all = aggregateStats(windows);
    expect(all).toMatchObject({ loss_rate: 0, probes_expected: 300, probe_count: 300 });
  });

  it('streams stopped and started again: what the sender sent while the receiver was not listening is not expected', () => {
    const s = createReceiver();
    for (let seq = 0; seq < 100; seq++) recordProbe(s, seq, T0 + seq * 10, T0 + seq * 10 + 20);
    expect(recordSenderReport(s, { last_seq: 99, sent: 100, paused_ms: 0 }, T0 + 1000)).toBe(true);
    const first = takeReport(s, T0 + 1600, { senderStopped: true });
    // The receiver stops listening; the sender goes on with seqs 100..199; the streams start again at 200.
    awaitFirstArrival(s);
    for (let seq = 200; seq < 300; seq++) recordProbe(s, seq, T0 + seq * 10, T0 + seq * 10 + 20);
    expect(recordSenderReport(s, { last_seq: 299, sent: 300, paused_ms: 0 }, T0 + 3000)).toBe(true);
    const second = takeReport(s, T0 + 3600, { senderStopped: true });
    expect(aggregateStats([first, second])).toMatchObject({ loss_rate: 0, probes_expected: 200, probe_count: 200 });
  });

  it('a path that carries nothing from the first probe on is still 100 % loss once the sender reports', () => {
    const s = createReceiver();
    expect(recordSenderReport(s, { last_seq: 99, sent: 100, paused_ms: 0 }, T0 + 1000)).toBe(true);
    // Before the report is Tmax old nothing is expected yet; after it, once the next report shows the sender
    // did not stall (with its probes queued), all it reported is lost.
    expect(takeReport(s, T0 + 1400)).toMatchObject({ probes_expected: 0, loss_rate: 0 });
    expect(recordSenderReport(s, { last_seq: 199, sent: 200, paused_ms: 0 }, T0 + 2000)).toBe(true);
    expect(takeReport(s, T0 + 2000)).toMatchObject({ probes_expected: 100, loss_rate: 100 });
  });
});

describe('the last window at 300 ms RTT', () => {
  it('waits for the relay’s last sender_report plus Tmax: the 26 probes lost at its tail count, not 0', () => {
    vi.useFakeTimers({ now: T0 });
    const ONE_WAY = 150;
    const s = createReceiver();
    const clientStop = T0 + 10_000;
    // The relay hears the stop one way later and stops then; its last 26 probes before that are lost.
    const relayStop = clientStop + ONE_WAY;
    let seq = 0;
    for (let t = T0; t < relayStop; t += 10, seq++) {
      if (t < relayStop - 260) recordProbe(s, seq, t, t + ONE_WAY);
      // The relay's once-a-second report, one way later.
      if ((t - T0) % 1000 === 990) recordSenderReport(s, { last_seq: seq, sent: seq + 1, paused_ms: 0 }, t + ONE_WAY);
    }
    const lastSeq = seq - 1;
    const windows: DirectionStats[] = [takeReport(s, clientStop - 1)];
    vi.setSystemTime(clientStop);
    let closedAt = 0;
    const window = waitFinalWindow(
      () => {
        closedAt = Date.now();
        windows.push(takeReport(s, closedAt, { senderStopped: true }));
      },
      { stoppedAt: clientStop, peerStoppedAt: null, now: () => Date.now(), after: (ms, fire) => setTimeout(fire, ms) },
    );
    // The relay's last report (sent when it stopped) arrives one round trip after the client's stop.
    vi.advanceTimersByTime(2 * ONE_WAY);
    expect(recordSenderReport(s, { last_seq: lastSeq, sent: lastSeq + 1, paused_ms: 0 }, Date.now())).toBe(true);
    window.peerStopped(Date.now());
    vi.advanceTimersByTime(FINAL_REPORT_WAIT_MS);
    const all = aggregateStats(windows);
    expect(lostIn(windows[1]!)).toBe(26);
    expect(lostIn(all)).toBe(26);
    expect(all.probes_expected).toBe(lastSeq + 1);
    expect(closedAt).toBe(clientStop + 2 * ONE_WAY + 600);
  });

  it('closes at most a few seconds after the stop when the far side never sends its last report (an older peer)', () => {
    vi.useFakeTimers({ now: T0 });
    let closedAt = 0;
    waitFinalWindow(() => (closedAt = Date.now()), { stoppedAt: T0, peerStoppedAt: null, now: () => Date.now(), after: (ms, fire) => setTimeout(fire, ms) });
    vi.advanceTimersByTime(10_000);
    expect(closedAt).toBe(T0 + FINAL_REPORT_WAIT_MS);
  });

  it('closes Tmax after our own stop when the far side had stopped first (its report already in)', () => {
    vi.useFakeTimers({ now: T0 });
    let closedAt = 0;
    waitFinalWindow(() => (closedAt = Date.now()), { stoppedAt: T0, peerStoppedAt: T0 - 50, now: () => Date.now(), after: (ms, fire) => setTimeout(fire, ms) });
    vi.advanceTimersByTime(10_000);
    expect(closedAt).toBe(T0 + 600);
  });
});
