// Smoke test of the noise-floor bench: all three paths measure at a small level, and the report reads its targets right.
import { describe, expect, it } from 'vitest';
import { measureNoise, noiseOptionsFromEnv, noiseReport, type NoiseLevel } from '../../bench/noise.js';
import type { NoiseFigures } from '../../bench/noise-summary.js';

const figures = (over: Partial<NoiseFigures>): NoiseFigures => ({
  rttP50: 0.5,
  rttP99: 1,
  dvP99Median: 1,
  dvP99Max: 3,
  ipdvP99Median: 1,
  lossPct: 0,
  rttSeconds: 10,
  delaySeconds: 10,
  ...over,
});

describe('noise bench', () => {
  it('measures the relay path, bare node-datachannel and bare UDP side by side', async () => {
    const opts = { levels: [2], seconds: 2, settleMs: 500, setUpLimitMs: 30_000 };
    const [level] = await measureNoise(opts);
    expect(level!.n).toBe(2);
    for (const f of [level!.relay, level!.bare, level!.udp]) {
      expect(f.rttP50).toBeGreaterThan(0);
      expect(f.rttP50).toBeLessThan(100);
      expect(f.rttP99!).toBeGreaterThanOrEqual(f.rttP50!);
    }
    // Two sessions, both directions, about two steady seconds each (a window may straddle the edges).
    for (const f of [level!.relay, level!.bare]) {
      expect(f.delaySeconds).toBeGreaterThanOrEqual(4);
      expect(f.delaySeconds).toBeLessThanOrEqual(12);
      expect(f.dvP99Median).not.toBeNull();
      expect(f.ipdvP99Median).toBeGreaterThan(0);
      expect(f.dvP99Max!).toBeGreaterThanOrEqual(f.dvP99Median!);
      expect(f.lossPct).toBeGreaterThanOrEqual(0);
      expect(f.lossPct).toBeLessThan(50);
    }
    // UDP ping-pong measures RTT only.
    expect(level!.udp.delaySeconds).toBe(0);
    expect(level!.udp.dvP99Median).toBeNull();
    expect(level!.udp.lossPct).toBeNull();
    const rows = noiseReport(opts, [level!]);
    expect(rows['2 sessions: RTT p50']).toMatch(/^relay \d+\.\d{3} \| bare ndc \d+\.\d{3} \| udp \d+\.\d{3} \| relay − bare [+−]/);
    expect(rows['target: relay RTT p50 ≤ bare UDP + 0.5 ms']).toMatch(/^2: (PASS|MISS) \([+−]\d/);
    expect(rows['target: relay IPDV p99 < 2 ms at 50 sessions']).toMatch(/^not run/);
    expect(level!.relaySlipP99).toBeGreaterThanOrEqual(0);
    // Each side's own CPU per probe, the headless client's beside the relay's and bare node-datachannel's.
    for (const f of [level!.relay, level!.bare]) {
      expect(f.clientUsPerProbe).toBeGreaterThan(0);
      expect(f.serverUsPerProbe).toBeGreaterThan(0);
    }
    expect(rows['2 sessions: CPU µs per probe received']).toMatch(/^relay path: client \d+\.\d, relay \d+\.\d \| bare ndc: client \d+\.\d, echo \d+\.\d$/);
  }, 90_000);

  it('reports a path whose set-up outlasts the limit as not measured, stops its workers, and goes on', async () => {
    const opts = { levels: [1], seconds: 1, settleMs: 0, setUpLimitMs: 1 };
    const started = Date.now();
    const [level] = await measureNoise(opts);
    // Workers asked to stop mid set-up exit at once, not after the stop's grace period.
    expect(Date.now() - started).toBeLessThan(30_000);
    for (const f of [level!.relay, level!.bare, level!.udp]) {
      expect(f.failed).toBe('set-up of 1 session took over 0.001 s');
      expect(f.rttP50).toBeNull();
    }
    const rows = noiseReport(opts, [level!]);
    expect(rows['1 session: NOT MEASURED']).toMatch(/^relay: set-up of 1 session took over 0\.001 s \| bare: .* \| udp: /);
  }, 60_000);

  it('reads PASS and MISS against the targets from the figures', () => {
    const opts = { levels: [1, 50], seconds: 15, settleMs: 2000, setUpLimitMs: 60_000 };
    const level = (n: number, relay: Partial<NoiseFigures>, udp: Partial<NoiseFigures>): NoiseLevel => ({ n, relay: figures(relay), bare: figures({}), udp: figures(udp), relaySlipP99: 0.5 });
    const rows = noiseReport(opts, [level(1, { rttP50: 0.7 }, { rttP50: 0.25 }), level(50, { rttP50: 1.2, ipdvP99Median: 1.9 }, { rttP50: 0.3 })]);
    expect(rows['target: relay RTT p50 ≤ bare UDP + 0.5 ms']).toBe('1: PASS (+0.450) · 50: MISS (+0.900)');
    expect(rows['target: relay IPDV p99 < 2 ms at 50 sessions']).toBe('PASS (1.900, median of seconds)');
    expect(rows['50 sessions: IPDV p99, median of seconds']).toBe('relay 1.900 | bare ndc 1.000 | relay − bare +0.900 (×1.90)');
    const missed = noiseReport(opts, [level(50, { ipdvP99Median: 2.5 }, {})]);
    expect(missed['target: relay IPDV p99 < 2 ms at 50 sessions']).toBe('MISS (2.500, median of seconds)');
    const unmeasured = noiseReport(opts, [{ ...level(200, {}, {}), relay: { ...figures({ rttP50: null, ipdvP99Median: null }), failed: 'set-up timed out' } }]);
    expect(unmeasured['200 sessions: NOT MEASURED']).toBe('relay: set-up timed out');
    expect(unmeasured['200 sessions: RTT p50']).toMatch(/^relay n\/a \| bare ndc 0\.500 /);
    expect(unmeasured['target: relay RTT p50 ≤ bare UDP + 0.5 ms']).toBe('200: n/a');
  });

  it('takes NOISE_SECONDS and NOISE_LEVELS from the environment and refuses nonsense', () => {
    expect(noiseOptionsFromEnv({})).toEqual({ levels: [1, 50, 200], seconds: 15, settleMs: 2000, setUpLimitMs: 60_000 });
    expect(noiseOptionsFromEnv({ NOISE_SECONDS: '3', NOISE_LEVELS: '1,5' })).toMatchObject({ levels: [1, 5], seconds: 3 });
    expect(() => noiseOptionsFromEnv({ NOISE_SECONDS: '-1' })).toThrow();
    expect(() => noiseOptionsFromEnv({ NOISE_LEVELS: '1,,x' })).toThrow();
  });
});
