// Seconds that line up (PROTOCOL §2 v3): each receiver numbers its windows, counts what it settled as lost,
// and the client pairs the relay's windows with its own by index, never by arrival.
import { describe, expect, it } from 'vitest';
import { createWindowPairing, RELAY_WINDOW_AFTER_END, RELAY_WINDOW_NOT_RECEIVED, type Paired } from '../../client/window-pairing.js';
import { aggregateStats, createReceiver, openWindow, recordProbe, recordSenderReport, takeReport } from '../../shared/stats/index.js';

const T0 = 1_764_000_000_000;

describe('window_index, window_start_ms/window_end_ms and lost_count', () => {
  it('numbers windows 0, 1, 2… from the streams start, each from where the last one ended', () => {
    const s = createReceiver();
    openWindow(s, T0);
    const ends = [T0 + 1000, T0 + 2003, T0 + 2999];
    const w = ends.map((at) => takeReport(s, at));
    expect(w.map((x) => x.window_index)).toEqual([0, 1, 2]);
    expect(w.map((x) => x.window_start_ms)).toEqual([T0, T0 + 1000, T0 + 2003]);
    expect(w.map((x) => x.window_end_ms)).toEqual(ends);
    // A restart of the streams opens the next window at the restart, and the numbering goes on.
    openWindow(s, T0 + 10_000);
    const again = takeReport(s, T0 + 11_000);
    expect(again).toMatchObject({ window_index: 3, window_start_ms: T0 + 10_000, window_end_ms: T0 + 11_000 });
  });

  it('lost_count is the seqs settled as lost in that window, hand counted', () => {
    const s = createReceiver({ lossTmaxMs: 500 });
    openWindow(s, T0);
    // 200 probes, 10 ms apart, 20 ms delay; lost: 3, 4, 50 (first second) and 120, 121, 122, 199 (second, 199 the tail).
    const lost = new Set([3, 4, 50, 120, 121, 122, 199]);
    for (let q = 0; q < 100; q++) if (!lost.has(q)) recordProbe(s, q, T0 + q * 10, T0 + q * 10 + 20);
    expect(recordSenderReport(s, { last_seq: 99, sent: 100, paused_ms: 0 }, T0 + 1000)).toBe(true);
    // The next report (no pause) is in, and at T0+1510 the first and the last arrival (99) are Tmax old: 0..99 settle, with 3 lost.
    expect(recordSenderReport(s, { last_seq: 99, sent: 100, paused_ms: 0 }, T0 + 1100)).toBe(true);
    const first = takeReport(s, T0 + 1510);
    for (let q = 100; q < 200; q++) if (!lost.has(q)) recordProbe(s, q, T0 + q * 10, T0 + q * 10 + 20);
    expect(recordSenderReport(s, { last_seq: 199, sent: 200, paused_ms: 0 }, T0 + 2000)).toBe(true);
    const second = takeReport(s, T0 + 2500, { senderStopped: true });
    expect(first).toMatchObject({ probes_expected: 100, lost_count: 3, window_index: 0 });
    expect(second).toMatchObject({ probes_expected: 100, lost_count: 4, window_index: 1 });
    expect(aggregateStats([first, second])).toMatchObject({ probes_expected: 200, lost_count: 7 });
  });

  it('a window before any unloaded one has delay_deviation_ms null', () => {
    const s = createReceiver();
    openWindow(s, T0);
    for (let q = 0; q < 50; q++) recordProbe(s, q, T0 + q * 10, T0 + q * 10 + 70);
    expect(takeReport(s, T0 + 600, { loaded: true }).delay_deviation_ms).toBeNull();
  });
});

/** What the pairing let go, in a form easy to compare: own index, relay window (its label) or why not. */
function shown(list: Paired<string, string>[]): string[] {
  return list.map((p) => (p.kind === 'late' ? `late ${p.index}:${p.peer}` : `${p.index}:${p.own}+${p.peer ?? `(${p.missing})`}`));
}

describe('pairing relay windows with the client’s by index', () => {
  it('pairs by index even though each relay window arrives after the client’s next window closed… or before', () => {
    const p = createWindowPairing<string, string>();
    const out: string[] = [];
    out.push(...shown(p.own(0, 'c0')));
    out.push(...shown(p.peer(0, 'r0'))); // a round trip after the client's window 0 closed
    out.push(...shown(p.peer(1, 'r1'))); // early: before the client's window 1 closed
    out.push(...shown(p.own(1, 'c1')));
    expect(out).toEqual(['0:c0+r0', '1:c1+r1']);
  });

  it('a second with no relay window yet goes out missing with the reason, and a late one fills that second, not another', () => {
    const p = createWindowPairing<string, string>();
    const out: string[] = [];
    out.push(...shown(p.own(0, 'c0')));
    out.push(...shown(p.peer(0, 'r0')));
    out.push(...shown(p.own(1, 'c1')));
    // Relay window 1 is held up; the client closes window 2: second 1 goes out without it.
    out.push(...shown(p.own(2, 'c2')));
    out.push(...shown(p.peer(2, 'r2')));
    out.push(...shown(p.peer(1, 'r1'))); // late: fills second 1
    out.push(...shown(p.peer(1, 'r1'))); // a repeat changes nothing
    out.push(...shown(p.own(3, 'c3')));
    // Relay window 3 never comes and the relay never confirmed its end: second 3 is missing, not received.
    out.push(...shown(p.finish(false)));
    expect(out).toEqual(['0:c0+r0', `1:c1+(${RELAY_WINDOW_NOT_RECEIVED})`, '2:c2+r2', 'late 1:r1', `3:c3+(${RELAY_WINDOW_NOT_RECEIVED})`]);
    // Every index once as a second, no gaps, no doubles.
    const seconds = out.filter((x) => !x.startsWith('late')).map((x) => Number(x.split(':')[0]));
    expect(seconds).toEqual([0, 1, 2, 3]);
  });

  it('at the end, seconds after the relay’s last window say so, and relay windows beyond the client’s last keep their own index', () => {
    const p = createWindowPairing<string, string>();
    const out = [...shown(p.own(0, 'c0')), ...shown(p.peer(0, 'r0')), ...shown(p.own(1, 'c1')), ...shown(p.own(2, 'c2')), ...shown(p.finish(true))];
    // Second 1 went out when window 2 closed (the relay's end was not known yet); at the end the relay has
    // confirmed its last window was 0, so second 2 comes after it.
    expect(out).toEqual(['0:c0+r0', `1:c1+(${RELAY_WINDOW_NOT_RECEIVED})`, `2:c2+(${RELAY_WINDOW_AFTER_END})`]);

    const q = createWindowPairing<string, string>();
    const longer = [...shown(q.own(0, 'c0')), ...shown(q.peer(0, 'r0')), ...shown(q.peer(1, 'r1')), ...shown(q.finish(true))];
    expect(longer).toEqual(['0:c0+r0', 'late 1:r1']);
  });
});
