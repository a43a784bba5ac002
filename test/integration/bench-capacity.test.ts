// The capacity bench: a small relay level and a bare level measured for real, the count arithmetic it rests on,
// and the pass rule and report read from figures.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countAt, grownBetween, relayLevelFigures, type RelayLevelFigures } from '../../bench/capacity-figures.js';
import { measureBareLevel, measureRelayLevel, splitSessions } from '../../bench/capacity-level.js';
import type { Records } from '../../bench/capacity-messages.js';
import { capacityReport, capacityVerdict, levelFailures, processesReport, type RelayLevel } from '../../bench/capacity-report.js';
import { parsePrometheus, relayFigures, type RelayScrape } from '../../bench/relay-scrape.js';
import { capacityOptionsFromEnv } from '../../bench/relay.js';
import { emptyDirectionStats, type DirectionStats } from '../../shared/stats/direction-stats.js';
import { startTestDb, type TestDb } from '../helpers/system.js';

const stats = (received: number, expected = received): DirectionStats => ({
  ...emptyDirectionStats(),
  probe_count: received,
  probes_expected: expected,
  loss_rate: expected ? ((expected - received) / expected) * 100 : 0,
  delay_deviation_ms: [0.1, 0.5, 0, 0.6],
});

const scrape = (over: Partial<RelayScrape>): RelayScrape => ({
  at: 0,
  cpuSeconds: 0,
  rssBytes: 100e6,
  lagP99Seconds: 0.001,
  probesSent: 0,
  c2sReceived: 0,
  c2sLost: 0,
  c2sExpected: 0,
  captureHeldBytes: 0,
  streaming: 2,
  ...over,
});

const figures = (over: Partial<RelayLevelFigures> = {}): RelayLevelFigures => ({
  sessions: 10,
  spanSeconds: 30,
  cpuMsPerSessionSecond: 1.5,
  rssBytesPerSession: 200 * 1024,
  captureBytesPerSession: 1024 * 1024,
  lagP99Ms: 2,
  c2s: { sent: 30_000, received: 30_000, lossPct: 0, delayP99Ms: 0.4, relayTotal: 30_000 },
  s2c: { sent: 30_000, received: 29_990, lossPct: 0.01, delayP99Ms: 0.3, relayTotal: 30_000 },
  streaming: [10, 10],
  ...over,
});

describe('capacity bench arithmetic', () => {
  it('reads a running count at an instant between two reports, and holds it past the last', () => {
    const points = [
      { at: 1000, total: 100 },
      { at: 2000, total: 200 },
      { at: 3000, total: 290 },
    ];
    expect(countAt(points, 1500)).toBe(150);
    expect(countAt(points, 2500)).toBe(245);
    expect(countAt(points, 2000)).toBe(200);
    expect(countAt(points, 9000)).toBe(290);
    expect(countAt(points, 500)).toBe(0);
  });

  it('sums per-session growth over a span from running totals and from per-window additions alike', () => {
    // Session a reports every second on the second, b half a second later; both at 100 a second.
    const running = ['a', 'b'].flatMap((session, i) => Array.from({ length: 10 }, (_, k) => ({ session, at: 1000 * (k + 1) + 500 * i, total: 100 * (k + 1) })));
    const windows = running.map(({ session, at }) => ({ session, at, add: 100 }));
    expect(grownBetween(running, 2200, 7200)).toBe(1000);
    expect(grownBetween(windows, 2200, 7200)).toBe(1000);
  });

  it('holds what each receiver counted against its sender over the span, and takes the relay figures from its scrapes', () => {
    const records: Records = { windows: [], sent: [] };
    for (const session of ['a', 'b']) {
      for (let k = 1; k <= 12; k++) {
        const at = 1000 * k + (session === 'a' ? 300 : 700);
        records.sent.push({ session, at, direction: 'c2s', sent: 100 * k }, { session, at, direction: 's2c', sent: 100 * k });
        // The relay counted every client probe; the client lost 2 of the relay's each second.
        records.windows.push({ session, at, direction: 'c2s', stats: stats(100) }, { session, at, direction: 's2c', stats: stats(98, 100) });
      }
    }
    const idle = scrape({ rssBytes: 100e6 });
    const start = scrape({ at: 2000, cpuSeconds: 1, probesSent: 400, c2sReceived: 400 });
    const end = scrape({ at: 12_000, cpuSeconds: 1.03, rssBytes: 101e6, captureHeldBytes: 0.5e6, probesSent: 2400, c2sReceived: 2400 });
    const f = relayLevelFigures(2, idle, start, end, records);
    expect(f.spanSeconds).toBe(10);
    expect(f.cpuMsPerSessionSecond).toBeCloseTo(1.5, 6); // 30 ms over 2 sessions × 10 s
    expect(f.rssBytesPerSession).toBe(0.25e6);
    expect(f.captureBytesPerSession).toBe(0.25e6);
    expect(f.c2s).toMatchObject({ sent: 2000, received: 2000, lossPct: 0, relayTotal: 2000 });
    expect(f.s2c).toMatchObject({ sent: 2000, received: 1960, relayTotal: 2000 });
    expect(f.s2c.lossPct).toBeCloseTo(2, 6);
    expect(f.s2c.delayP99Ms).toBe(0.5);
  });

  it('splits sessions over at most eight workers of at most 25', () => {
    expect(splitSessions(25)).toEqual([25]);
    expect(splitSessions(60)).toEqual([20, 20, 20]);
    expect(splitSessions(400)).toEqual(Array(8).fill(50));
  });

  it('parses the relay exposition and refuses one that lacks a figure', () => {
    const text = [
      '# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.',
      'process_cpu_seconds_total 12.5',
      'process_resident_memory_bytes 123456789',
      'netpoke_relay_event_loop_lag_seconds{stat="p50"} 0.0001',
      'netpoke_relay_event_loop_lag_seconds{stat="p99"} 0.0042',
      'netpoke_relay_probes_sent_total 1000',
      'netpoke_relay_probes_received_total 990',
      'netpoke_relay_probes_lost_total 1',
      'netpoke_relay_probes_expected_total 991',
      'netpoke_relay_capture_held_bytes 65536',
      'netpoke_relay_sessions{state="streaming"} 7',
    ].join('\n');
    const samples = parsePrometheus(text);
    expect(relayFigures(samples, 5)).toEqual({
      at: 5,
      cpuSeconds: 12.5,
      rssBytes: 123456789,
      lagP99Seconds: 0.0042,
      probesSent: 1000,
      c2sReceived: 990,
      c2sLost: 1,
      c2sExpected: 991,
      captureHeldBytes: 65536,
      streaming: 7,
    });
    samples.delete('netpoke_relay_probes_sent_total');
    expect(() => relayFigures(samples, 5)).toThrow(/netpoke_relay_probes_sent_total/);
  });
});

describe('capacity pass rule and report', () => {
  it('passes a clean level and names every way a level fails', () => {
    expect(levelFailures({ n: 10, figures: figures() })).toEqual([]);
    const bad = figures({
      lagP99Ms: 7,
      c2s: { sent: 30_000, received: 29_000, lossPct: 0, delayP99Ms: 1, relayTotal: 29_000 },
      s2c: { sent: 30_000, received: 30_000, lossPct: 0.2, delayP99Ms: 1, relayTotal: 30_000 },
      streaming: [10, 9],
    });
    expect(levelFailures({ n: 10, figures: bad })).toEqual([
      'c2s delivered 96.667 % < 99.9 % of sent',
      's2c loss 0.200 % ≥ 0.1 %',
      'event-loop lag p99 7.00 ms ≥ 5 ms',
      'only 9 of 10 sessions streaming',
    ]);
    expect(levelFailures({ n: 10, error: 'set-up failed' })).toEqual(['did not run: set-up failed']);
  });

  it('gives capacity as the highest level passed below the first failure, and a lower bound when all pass', () => {
    const pass = (n: number): RelayLevel => ({ n, figures: figures({ sessions: n, streaming: [n, n] }) });
    expect(capacityVerdict([pass(25), pass(50)])).toBe('every level passed: capacity ≥ 50 sessions (a lower bound)');
    expect(capacityVerdict([pass(25), { n: 50, figures: figures({ sessions: 50, streaming: [50, 50], lagP99Ms: 6 }) }])).toBe('25 sessions; 50 failed: event-loop lag p99 6.00 ms ≥ 5 ms');
    expect(capacityVerdict([{ n: 25, error: 'boom' }])).toMatch(/^below 25 sessions/);
  });

  it('prints the ratio to bare and PASS/MISS against the targets', () => {
    const rows = capacityReport({}, [{ n: 10, figures: figures() }], [{ n: 10, figures: { sessions: 10, spanSeconds: 30, cpuMsPerSessionSecond: 1.0, c2sLossPct: 0, s2cLossPct: 0, lagP99Ms: 6.25 } }]);
    expect(rows['bare ndc echo, 10 sessions: event-loop lag p99 ms']).toBe('6.25');
    expect(rows['10 sessions: c2s delivered / sent']).toBe('30000 / 30000 (100.000 %); relay /metrics received 30000');
    expect(rows['10 sessions: verdict']).toBe('pass');
    expect(rows['capacity']).toBe('every level passed: capacity ≥ 10 sessions (a lower bound)');
    expect(rows['bare ndc echo, 10 sessions: ratio relay ÷ bare CPU']).toBe('1.50');
    expect(rows['target: ≤ 2 ms relay CPU per session-second (≥ 500 sessions per core)']).toBe('10: PASS (1.500)');
    expect(rows['target: ≤ 1 MiB relay RSS per session without capture']).toBe('10: PASS (200 KiB)');
    expect(rows['target: relay ÷ bare CPU ≤ 1.25']).toBe('10: MISS (1.50)');
    expect(Object.keys(rows).some((k) => /raw|≥ 160/.test(k))).toBe(false);
    const starved = capacityReport({}, [{ n: 10, figures: figures() }], [{ n: 10, figures: { sessions: 10, spanSeconds: 30, cpuMsPerSessionSecond: 0.5, c2sLossPct: 0, s2cLossPct: 30 } }]);
    expect(starved['bare ndc echo, 10 sessions: ratio relay ÷ bare CPU']).toBe('3.00 (not like for like: the bare echo lost probes, so it did less work)');
    expect(starved['target: relay ÷ bare CPU ≤ 1.25']).toBe('10: n/a (not like for like: the bare echo lost probes, so it did less work)');
    // A relay that skipped most of its sends spent less CPU than the load costs: no PASS for it.
    const behind = figures({ s2c: { sent: 3_000, received: 3_000, lossPct: 0, delayP99Ms: 1, relayTotal: 3_000 } });
    const fell = capacityReport({}, [{ n: 10, figures: behind }], [{ n: 10, figures: { sessions: 10, spanSeconds: 30, cpuMsPerSessionSecond: 2, c2sLossPct: 0, s2cLossPct: 0 } }]);
    expect(fell['10 sessions: sent ÷ schedule c2s / s2c']).toBe('100.000 % / 10.000 %');
    expect(fell['10 sessions: relay CPU ms per session-second']).toBe('1.500 (understated: the load was not carried in full)');
    expect(fell['target: ≤ 2 ms relay CPU per session-second (≥ 500 sessions per core)']).toBe('10: n/a, the relay fell behind (1.500)');
    expect(fell['target: relay ÷ bare CPU ≤ 1.25']).toBe('10: n/a (not like for like: the relay fell behind, so it did less work)');
  });

  it('takes CAPACITY_LEVELS, CAPACITY_SECONDS and CAPACITY_BARE_LEVELS from the environment and refuses nonsense', () => {
    expect(capacityOptionsFromEnv({})).toEqual({ levels: [25, 50, 100, 200], bareLevels: null, seconds: 30, settleMs: 3000 });
    expect(capacityOptionsFromEnv({ CAPACITY_LEVELS: '50,10', CAPACITY_SECONDS: '5', CAPACITY_BARE_LEVELS: '10' })).toMatchObject({ levels: [10, 50], seconds: 5, bareLevels: [10] });
    expect(() => capacityOptionsFromEnv({ CAPACITY_SECONDS: '0' })).toThrow();
    expect(() => capacityOptionsFromEnv({ CAPACITY_LEVELS: '5,,x' })).toThrow();
  });
});

describe('capacity bench, measured', () => {
  let db: TestDb;
  beforeAll(async () => {
    db = await startTestDb();
  });
  afterAll(async () => {
    await db.close();
  });

  it('measures a relay level from the relay process itself, with every probe accounted for both ways', async () => {
    const f = await measureRelayLevel(db, 3, { seconds: 3, settleMs: 1500 });
    expect(f.sessions).toBe(3);
    expect(f.spanSeconds).toBeGreaterThan(2.9);
    expect(f.spanSeconds).toBeLessThan(4);
    expect(f.cpuMsPerSessionSecond).toBeGreaterThan(0);
    expect(f.streaming).toEqual([3, 3]);
    expect(f.machine!.busyPct).toBeGreaterThan(0);
    expect(f.machine!.busyPct).toBeLessThanOrEqual(100);
    expect(f.machine!.clientCores).toBeGreaterThan(0);
    for (const d of [f.c2s, f.s2c]) {
      // 3 sessions × ~3 s × 100/s, whatever a loaded machine skipped.
      expect(d.sent).toBeGreaterThan(300);
      expect(d.sent).toBeLessThan(1300);
      expect(d.received).toBeGreaterThan(0.9 * d.sent);
      expect(d.received).toBeLessThan(1.1 * d.sent);
      expect(Math.abs(d.relayTotal - d.received) / d.received).toBeLessThan(0.2);
      expect(d.delayP99Ms).not.toBeNull();
    }
  }, 90_000);

  it('measures 2 relay processes (own ids and ports, registered apart) with the sessions split over both, their figures summed', async () => {
    const f = await measureRelayLevel(db, 4, { seconds: 3, settleMs: 1500 }, 2);
    expect(f.sessions).toBe(4);
    expect(f.streaming).toEqual([4, 4]);
    expect(f.cpuMsPerSessionSecond).toBeGreaterThan(0);
    for (const d of [f.c2s, f.s2c]) {
      // 4 sessions × ~3 s × 100/s over both relays, whatever a loaded machine skipped.
      expect(d.sent).toBeGreaterThan(400);
      expect(d.sent).toBeLessThan(1700);
      expect(d.received).toBeGreaterThan(0.9 * d.sent);
      expect(Math.abs(d.relayTotal - d.received) / d.received).toBeLessThan(0.2);
    }
    const rs = await db.db.execute("SELECT relay_id, COUNT(*) AS peers FROM relay_peers WHERE relay_id LIKE 'bench-relay-%' GROUP BY relay_id ORDER BY relay_id");
    expect(rs.rows.map((r) => String(r.relay_id))).toEqual(['bench-relay-1', 'bench-relay-2']);
    for (const r of rs.rows) expect(Number(r.peers)).toBeGreaterThanOrEqual(2);
    const registered = await db.db.execute("SELECT id FROM relays WHERE id LIKE 'bench-relay-%' ORDER BY id");
    expect(registered.rows.map((r) => String(r.id))).toEqual(['bench-relay-1', 'bench-relay-2']);
  }, 90_000);

  it('prints the 2-process climb beside the 1-process one', () => {
    const pass = (n: number): RelayLevel => ({ n, figures: figures({ sessions: n, streaming: [n, n] }) });
    const rows = processesReport(2, [pass(10), { n: 20, error: 'set-up failed' }]);
    expect(rows['2 relay processes, 10 sessions: verdict']).toBe('pass');
    expect(rows['2 relay processes, 20 sessions: did not run']).toBe('set-up failed');
    expect(rows['capacity, 2 relay processes']).toMatch(/^10 sessions; 20 failed: did not run/);
  });

  it('measures the bare echo in its own process', async () => {
    const f = await measureBareLevel(3, { seconds: 2, settleMs: 1000 });
    expect(f.sessions).toBe(3);
    expect(f.cpuMsPerSessionSecond).toBeGreaterThan(0);
    expect(f.c2sLossPct).toBeLessThan(50);
    expect(f.machine!.clientCores).toBeGreaterThan(0);
    // Its own event-loop lag over the span, as the relay's is read (a number, not left out).
    expect(f.lagP99Ms).toBeGreaterThanOrEqual(0);
    expect(f.lagP99Ms).toBeLessThan(1_000);
  }, 90_000);
});
