import { describe, expect, it } from 'vitest';
import type { DatagramRecord } from '../../accuracy/forwarder.js';
import { loadTruth, type LoadSecond } from '../../accuracy/load-truth.js';
import { datagramRecord } from '../helpers/datagram-record.js';

// The forwarder's clock starts at epoch 1 000 000 ms: its atMs 2000 is the client's 1 002 000.
const ORIGIN = 1_000_000;
const ONE_WAY_MS = 5;
const IDLE_RTT_MS = 11;

let i = 0;
/** A forwarded probe-connection data datagram unless told otherwise (departure order = arrival order). */
const rec = (atMs: number, sentAtMs: number | null, more: Partial<DatagramRecord> = {}): DatagramRecord => datagramRecord(i++, atMs, sentAtMs, sentAtMs === null ? null : i, more);

const sec = (t: number, loaded: boolean, bytesPerS?: number, final?: boolean): LoadSecond => ({
  timestamp_ms: ORIGIN + t,
  s2c: { loaded },
  ...(bytesPerS !== undefined ? { throughput: { s2c_bytes_per_s: bytesPerS } } : {}),
  ...(final ? { final } : {}),
});

// Seconds end at their timestamp. 1000: idle. 2000–5000 loaded, 6000 the final one (left out). Fully loaded, with a
// loaded second on each side: 3000 and 4000 only (2000 follows an idle one, 5000 precedes only the final one),
// so the truth reads datagrams that arrived in [2000, 4000) on the forwarder's clock.
const seconds = [sec(1000, false), sec(2000, true, 2_000_000), sec(3000, true, 2_500_000), sec(4000, true, 2_250_000), sec(5000, true, 2_400_000), sec(6000, true, 2_400_000, true)];

const log = {
  timeOriginMs: ORIGIN,
  s2c: [
    rec(500, 507), // in the idle second before the load: held 2 beyond 5 ms
    rec(1500, 1600), // in the first loaded second, which follows an idle one: out of both
    rec(2100, 2145), // held 40 beyond 5 ms
    rec(2200, 2300, { load: true, size: 1250 }), // load: carried, not a probe
    rec(2600, 2655), // 50
    rec(3200, 3295), // 90
    rec(3400, 3500, { load: true, size: 2500 }),
    rec(3700, null, { tailDropped: true }), // dropped: no hold
    rec(3950, 4000, { kind: 'dtls-app-small', size: 60 }), // a bare SACK: out
    rec(3990, 4010, { load: true, size: 1000 }), // load delivered after the last span: not carried in one
    rec(4000, 4100), // arrived at the span's end: out
  ],
  c2s: [
    rec(400, 408), // idle: 3
    rec(1000, 1100), // first loaded second: out
    rec(2050, 2057), // 2
    rec(2500, 2700, { load: true }), // load: out
    rec(2550, 2559), // 4
    rec(3050, 3055), // 0
    rec(3300, null, { tailDropped: true }),
    rec(3550, 3556), // 1
  ],
};

describe('the truth under load', () => {
  it('holds the probe connection’s datagrams in fully loaded seconds against the fixed delay, on the epoch clock', () => {
    const t = loadTruth(log, seconds, IDLE_RTT_MS, ONE_WAY_MS);
    expect(t.loadedSeconds).toEqual([ORIGIN + 3000, ORIGIN + 4000]);
    // 2 500 000 and 2 250 000 bytes/s.
    expect(t.goodputMbps).toEqual([20, 18]);
    // 1250 and 2500 bytes of load delivered towards the client in the two spans.
    expect(t.carriedMbps).toEqual([0.01, 0.02]);
    // s2c holds 40, 50, 90: p50 50, mean 60. c2s 2, 4, 0, 1: p50 (nearest rank, 2nd of 0 1 2 4) 1, mean 1.75.
    expect(t.queued.s2c).toEqual({ p50: 50, mean: 60, samples: 3 });
    expect(t.queued.c2s).toEqual({ p50: 1, mean: 1.75, samples: 4 });
    expect(t.queueP50Ms).toBe(51);
    expect(t.rttP50Ms).toBe(62);
    expect(t.rpm).toBeCloseTo(60_000 / 72.75, 9);
    expect(t.tailDrops).toBe(2);
    // Before the load: s2c held 2, c2s 3 beyond the path's 5 ms each way.
    expect(t.idleQueued.s2c).toEqual({ p50: 2, mean: 2, samples: 1 });
    expect(t.idleQueued.c2s).toEqual({ p50: 3, mean: 3, samples: 1 });
    expect(t.idleRttP50Ms).toBe(15);
  });

  it('finds no loaded second (and no samples) in a survey that never loaded the path', () => {
    const t = loadTruth(log, [sec(1000, false), sec(2000, false), sec(3000, false)], IDLE_RTT_MS, ONE_WAY_MS);
    expect(t.loadedSeconds).toEqual([]);
    expect(t.queued.s2c.samples).toBe(0);
    expect(t.queued.c2s.samples).toBe(0);
    // Every whole second is idle then: s2c holds 2, 95, 40, 50 (the load datagram left out), c2s 3, 95, 2, 4.
    expect(t.idleQueued.s2c.samples).toBe(4);
    expect(t.idleQueued.c2s.samples).toBe(4);
  });
});
