import { describe, expect, it } from 'vitest';
import { cpuPerProbe, processCpuUs, spanTotals } from '../../bench/noise-cpu.js';

describe('noise bench CPU per probe', () => {
  it('sums each process from its first record in the window to its last, over the probes received', () => {
    const a = [
      { at: 900, cpuUs: 1_000, probes: 50 },
      { at: 1_100, cpuUs: 2_000, probes: 100 },
      { at: 2_100, cpuUs: 4_500, probes: 300 },
      { at: 3_100, cpuUs: 9_000, probes: 400 },
    ];
    const b = [
      { at: 1_050, cpuUs: 0, probes: 0 },
      { at: 2_050, cpuUs: 3_000, probes: 100 },
    ];
    // Window [1000, 2500]: a adds 2,500 µs over 200 probes, b 3,000 µs over 100.
    expect(spanTotals([a, b], 1_000, 2_500)).toEqual({ cpuUs: 5_500, probes: 300 });
    expect(cpuPerProbe([a, b], 1_000, 2_500)).toBeCloseTo(5_500 / 300, 9);
  });

  it('is null without probes, and skips a process with under two records in the window', () => {
    expect(cpuPerProbe([], 0, 10)).toBeNull();
    expect(cpuPerProbe([[{ at: 5, cpuUs: 10, probes: 1 }]], 0, 10)).toBeNull();
    expect(cpuPerProbe([[{ at: 5, cpuUs: 10, probes: 1 }, { at: 6, cpuUs: 20, probes: 1 }]], 0, 10)).toBeNull();
  });

  it('reads this process\'s CPU from /proc, growing with work, and null for no process', () => {
    const before = processCpuUs(process.pid);
    expect(before).not.toBeNull();
    const end = process.cpuUsage().user + 200_000;
    while (process.cpuUsage().user < end);
    expect(processCpuUs(process.pid)! - before!).toBeGreaterThanOrEqual(100_000);
    expect(processCpuUs(undefined)).toBeNull();
  });
});
