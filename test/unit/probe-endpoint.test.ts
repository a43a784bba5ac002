import { afterEach, describe, expect, it, vi } from 'vitest';
import { createProbeEndpoint, type ProbeEndpoint } from '../../shared/probe/endpoint.js';
import { startTicker } from '../../shared/probe/ticker.js';
import { createTickGroup } from '../../shared/probe/tick-group.js';
import type { ProbePacket } from '../../shared/protocol/probe.js';

afterEach(() => vi.useRealTimers());

describe('ticker', () => {
  it('fires 6000 ticks in 60 s with no drift', () => {
    vi.useFakeTimers({ now: 1_000 });
    let n = 0;
    const t = startTicker(10, () => n++, () => Date.now());
    vi.advanceTimersByTime(60_000);
    expect(n).toBe(6000);
    expect(t.ticks).toBe(6000);
    expect(t.slip().max).toBe(0);
    t.stop();
    vi.advanceTimersByTime(1_000);
    expect(n).toBe(6000);
  });

  it('catches up at most 5 ticks after a stall and counts the ones it skipped', () => {
    vi.useFakeTimers({ now: 1_000 });
    let n = 0;
    const t = startTicker(10, () => n++, () => Date.now());
    vi.advanceTimersByTime(100);
    expect(n).toBe(10);
    // The event loop stalls for 200 ms: the clock moves, timers don't fire.
    // The event loop stalls for 200 ms: the clock moves, timers don't fire.
    vi.setSystemTime(Date.now() + 200);
    vi.advanceTimersByTime(10);
    // 21 ticks were due at 1310: 16 skipped, the last 5 fired at once (slips 40..0 ms).
    expect(n).toBe(15);
    expect(t.ticks).toBe(15);
    expect(t.skipped).toBe(16);
    expect(t.slip().max).toBe(40);
    vi.advanceTimersByTime(100);
    expect(n).toBe(25);
    t.stop();
  });
});

describe('tick group', () => {
  it('drives every member from one timer and stops when the last one leaves', () => {
    vi.useFakeTimers({ now: 1_000 });
    const group = createTickGroup(10, () => Date.now());
    const counts = [0, 0];
    const a = group.schedule(() => counts[0]!++);
    vi.advanceTimersByTime(50);
    const b = group.schedule(() => counts[1]!++);
    vi.advanceTimersByTime(100);
    expect(counts).toEqual([15, 10]);
    expect(vi.getTimerCount()).toBe(1);
    a.stop();
    vi.advanceTimersByTime(100);
    expect(counts).toEqual([15, 20]);
    b.stop();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('lets endpoints share it: each still sends its own 100 probes a second', () => {
    vi.useFakeTimers({ now: 1_000 });
    const group = createTickGroup(10, () => Date.now());
    const sent = [0, 0];
    const eps = [0, 1].map((i) => createProbeEndpoint({ sendDirection: 's2c', connId: `c${i}`, schedule: group.schedule, send: () => void sent[i]!++, now: () => Date.now() }));
    for (const e of eps) e.start();
    vi.advanceTimersByTime(1000);
    expect(sent).toEqual([100, 100]);
    expect(vi.getTimerCount()).toBe(1);
    for (const e of eps) e.stop();
    expect(vi.getTimerCount()).toBe(0);
  });
});

/** Two endpoints joined by an in-memory link with a controllable clock, delay and drop rule. */
function pair(opts: { delay?: number; drop?: (p: ProbePacket) => boolean; sendCostMs?: number } = {}) {
  let clock = 1_764_000_000_000;
  const now = () => clock;
  // A send() that takes `sendCostMs`: until the clock next moves, that side reads the time the datagram left.
  const sending = { c2s: false, s2c: false };
  const cost = opts.sendCostMs ?? 0;
  const inFlight: { at: number; to: ProbeEndpoint; text: string }[] = [];
  const log: ProbePacket[] = [];
  const mk = (dir: 'c2s' | 's2c', peer: () => ProbeEndpoint) =>
    createProbeEndpoint({
      sendDirection: dir,
      connId: 'conn-1',
      now: () => clock + (sending[dir] ? cost : 0),
      send: (text) => {
        const p = JSON.parse(text) as ProbePacket;
        log.push(p);
        sending[dir] = true;
        if (!opts.drop?.(p)) inFlight.push({ at: clock + cost + (opts.delay ?? 5), to: peer(), text });
      },
    });
  const client: ProbeEndpoint = mk('c2s', () => relay);
  const relay: ProbeEndpoint = mk('s2c', () => client);
  const advance = (ms: number) => {
    const end = clock + ms;
    while (clock < end) {
      clock += 1;
      sending.c2s = sending.s2c = false;
      vi.advanceTimersByTime(1);
      for (const m of inFlight.filter((f) => f.at <= clock)) {
        inFlight.splice(inFlight.indexOf(m), 1);
        m.to.receive(m.text, clock);
      }
    }
  };
  return { client, relay, advance, log, now };
}

describe('probe endpoint', () => {
  it('exchanges probes both ways with feedback and echoes, and measures RTT without clock sync', () => {
    vi.useFakeTimers();
    const { client, relay, advance, log, now } = pair({ delay: 5 });
    client.start();
    relay.start();
    advance(1000);
    const c2s = client.sent;
    expect(c2s).toBeGreaterThanOrEqual(99);
    const fromRelay = relay.report(now());
    const fromClient = client.report(now());
    for (const r of [fromRelay, fromClient]) {
      expect(r.probe_count).toBeGreaterThanOrEqual(98);
      expect(r.loss_rate).toBe(0);
      expect(r.reorder_rate).toBe(0);
      // 5 ms each way; the echo's held time (up to one interval) is taken out.
      expect(r.rtt_ms[0]).toBe(10);
      expect(r.rtt_ms[2]).toBe(10);
      expect(r.rtt_ms[3]).toBe(10);
      expect(r.delay_deviation_ms).toEqual([0, 0, 0, 0]);
    }
    const clientProbes = log.filter((p) => p.direction === 'c2s');
    expect(clientProbes.map((p) => p.seq).slice(0, 5)).toEqual([0, 1, 2, 3, 4]);
    const late = clientProbes.at(-1)!;
    expect(late.conn_id).toBe('conn-1');
    // Feedback rides on every tenth probe (FEEDBACK_EVERY): the last of them knows of the relay's recent probes.
    expect(clientProbes.filter((p) => p.feedback).every((p) => p.seq % 10 === 0)).toBe(true);
    expect(clientProbes.filter((p) => p.feedback).at(-1)!.feedback!.highest_seq).toBeGreaterThan(80);
    expect(late.echo).toBeUndefined();
    expect(late.echoes![0]!.held_ms).toBeGreaterThanOrEqual(0);
    expect(late.echoes![0]!.held_ms).toBeLessThanOrEqual(10);
    client.stop();
    relay.stop();
    expect(client.running).toBe(false);
  });

  it('starts a round trip when send() returns and counts the echoing send in the held time', () => {
    // Each send() takes 1 ms between the probe's timestamp and the datagram leaving (node-datachannel encrypts
    // and writes inside the call). The wire is 5 ms each way, so the network round trip is exactly 10 ms;
    // timing from the timestamps alone would read 12 (both sides' sends).
    vi.useFakeTimers();
    const { client, relay, advance, log, now } = pair({ delay: 5, sendCostMs: 1 });
    client.start();
    relay.start();
    advance(1000);
    for (const r of [relay.report(now()), client.report(now())]) {
      expect(r.probe_count).toBeGreaterThanOrEqual(98);
      // The first echoes leave before any send was timed (their held time lacks the 1 ms): only those read 11.
      expect(r.rtt_ms[0]).toBe(10);
      expect(r.rtt_ms[2]).toBe(10);
      expect(r.rtt_ms[3]).toBeLessThanOrEqual(11);
    }
    // held_ms = time from receipt to the probe's timestamp, plus the 1 ms its send takes.
    const late = log.filter((p) => p.direction === 's2c').at(-1)!;
    expect(late.echoes!.every((e) => Number.isInteger(e.held_ms) && e.held_ms >= 1 && e.held_ms <= 11)).toBe(true);
    client.stop();
    relay.stop();
  });

  it('sees loss in the direction that loses probes only', () => {
    vi.useFakeTimers();
    const { client, relay, advance, now } = pair({ drop: (p) => p.direction === 'c2s' && p.seq % 4 === 0 });
    client.start();
    relay.start();
    advance(2000);
    client.stop();
    relay.stop();
    advance(600);
    const c2s = relay.report(now(), { senderStopped: true });
    const s2c = client.report(now(), { senderStopped: true });
    expect(c2s.loss_rate).toBeCloseTo(25, 0);
    expect(s2c.loss_rate).toBe(0);
  });

  it('drops malformed probes, other connections and its own direction', () => {
    const relay = createProbeEndpoint({ sendDirection: 's2c', connId: 'conn-1', send: () => {} });
    const good = { seq: 0, sent_at_ms: 1, direction: 'c2s', conn_id: 'conn-1' };
    expect(relay.receive('{nope')).toBe(false);
    expect(relay.receive(JSON.stringify({ ...good, conn_id: 'conn-2' }))).toBe(false);
    expect(relay.receive(JSON.stringify({ ...good, direction: 's2c' }))).toBe(false);
    expect(relay.receive(JSON.stringify({ ...good, seq: 'x' }))).toBe(false);
    expect(relay.receive(new Uint8Array([1]))).toBe(false);
    expect(relay.report(10).probe_count).toBe(0);
    expect(relay.receive(JSON.stringify(good), 5)).toBe(true);
    expect(relay.report(10).probe_count).toBe(1);
  });
});

/** An endpoint driven tick by tick by hand: `tick()` is one 10 ms slot of its schedule, the clock moves 10 ms. */
function handDriven(extra: { queued?: () => number; sendDirection?: 'c2s' | 's2c' } = {}) {
  let clock = 1_764_000_000_000.123_2;
  let onTick: (() => void) | null = null;
  const texts: string[] = [];
  const ep = createProbeEndpoint({
    sendDirection: extra.sendDirection ?? 's2c',
    connId: 'conn-1',
    now: () => clock,
    schedule: (t) => {
      onTick = t;
      return { stop: () => (onTick = null), skipped: 0 };
    },
    send: (text) => void texts.push(text),
    ...(extra.queued ? { queued: extra.queued } : {}),
  });
  const tick = () => {
    onTick?.();
    clock += 10;
  };
  return { ep, tick, texts, now: () => clock, setClock: (t: number) => (clock = t) };
}

describe('probe endpoint: probes never queue behind our own probes', () => {
  it('skips a tick while the channel holds more than QUEUED_LIMIT bytes and reports it as a pause, not as sent or lost', () => {
    // 100 ticks; the channel still holds 4 KiB of earlier probes during ticks 30..59, a few bytes otherwise.
    let t = 0;
    const d = handDriven({ queued: () => (t >= 30 && t < 60 ? 4096 : 100) });
    d.ep.start();
    for (t = 0; t < 100; t++) d.tick();
    const seqs = d.texts.map((x) => (JSON.parse(x) as ProbePacket).seq);
    // 70 probes went out with consecutive seqs (a skipped tick uses none), and the 30 skipped ticks are 300 ms of pause.
    expect(seqs).toEqual(Array.from({ length: 70 }, (_, i) => i));
    d.ep.stop();
    expect(d.ep.senderReport()).toEqual({ last_seq: 69, sent: 70, paused_ms: 300, final: true });

    // The receiving side sees all 70 and loses none: the pause is not loss.
    const rx = createProbeEndpoint({ sendDirection: 'c2s', connId: 'conn-1', send: () => {} });
    const t0 = d.now();
    rx.start();
    rx.stop();
    d.texts.forEach((x, i) => expect(rx.receive(x, t0 + i)).toBe(true));
    expect(rx.receiveSenderReport({ last_seq: 69, sent: 70, paused_ms: 300 }, t0 + 70)).toBe(true);
    const r = rx.report(t0 + 2_000);
    expect(r.probes_expected).toBe(70);
    expect(r.loss_rate).toBe(0);
    expect(r.sender_paused_ms).toBe(300);
  });

  it('sends echoes without a duplicate `echo`, times to the microsecond, and takes RTT from a probe that carries only `echoes`', () => {
    const relay = handDriven();
    relay.ep.start();
    relay.tick();
    relay.tick();
    const [p0, p1] = relay.texts.map((x) => JSON.parse(x) as ProbePacket);
    // 1_764_000_000_000.1232 and 10 ms later, rounded to the microsecond on the wire.
    expect(p0!.sent_at_ms).toBe(1_764_000_000_000.123);
    expect(p1!.sent_at_ms).toBe(1_764_000_000_010.123);

    // A client's probe echoing both, newest first, in the `echoes`-only form PROTOCOL §2 allows.
    const at = 1_764_000_000_200.123;
    const reply = { seq: 0, sent_at_ms: 5, direction: 'c2s', conn_id: 'conn-1', echoes: [{ seq: 1, sent_at_ms: p1!.sent_at_ms, held_ms: 4 }, { seq: 0, sent_at_ms: p0!.sent_at_ms, held_ms: 14 }] };
    expect(relay.ep.receive(JSON.stringify(reply), at)).toBe(true);
    // Round trips: 200 − 10 − 4 = 186 ms and 200 − 0 − 14 = 186 ms (each send took no time on this clock).
    const r = relay.ep.report(at + 1, { senderStopped: true });
    expect(r.rtt_ms[2]).toBeCloseTo(186, 3);
    expect(r.rtt_ms[3]).toBeCloseTo(186, 3);

    // The relay's next probe echoes the client's probe once, in `echoes` only.
    relay.setClock(at + 3);
    relay.tick();
    const p2 = JSON.parse(relay.texts[2]!) as ProbePacket;
    expect(p2.echo).toBeUndefined();
    expect(p2.echoes).toEqual([{ seq: 0, sent_at_ms: 5, held_ms: 3 }]);
    expect(p2.sent_at_ms).toBe(1_764_000_000_203.123);
  });
});
