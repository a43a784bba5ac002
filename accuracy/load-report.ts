// Prints a loaded scenario's comparison as a plain-text table.
import { nearestRank } from '../shared/stats/percentiles.js';
import type { LoadScenarioResult } from './run-load-scenario.js';
import { describeSpec } from './scenarios.js';

const median = (xs: readonly number[]) => nearestRank([...xs].sort((a, b) => a - b), 50);
const f = (x: number | null, digits = 2) => (x === null ? '—' : x.toFixed(digits));

/** The table for one loaded scenario: idle and loaded RTT p50, RPM, goodput and loaded − idle, truth beside NetPoke. */
export function formatLoadScenario(r: LoadScenarioResult): string {
  const { truth: t, measured: m, scenario: s } = r;
  const idle = m.responsiveness.idle!.p50_ms;
  const loaded = m.responsiveness.loaded!.p50_ms;
  const rate = s.s2c.rateMbps ?? null;
  const row = (metric: string, truth: number | null, netpoke: number | null, digits = 2) => {
    const diff = truth === null || netpoke === null ? null : netpoke - truth;
    const pct = diff === null || truth === 0 ? '' : ` (${((100 * diff) / truth!).toFixed(1)} %)`;
    return `   ${metric.padEnd(26)}${f(truth, digits).padStart(10)}${f(netpoke, digits).padStart(10)}${(f(diff, digits) + pct).padStart(18)}`;
  };
  return [
    `== ${s.name} (seed ${s.seed}, ${r.seconds} s of probing with a download after the idle baseline)`,
    `-- c2s: injected ${describeSpec(s.c2s)}`,
    `-- s2c: injected ${describeSpec(s.s2c)}`,
    `   forwarder: ${t.loadedSeconds.length} seconds loaded from end to end; ${r.loadDatagrams} load datagrams towards the client, ` +
      `${f(median(t.carriedMbps))} Mbit/s p50 of them (UDP payload); ${t.tailDrops} tail drops`,
    `   probe connection held beyond the fixed delay under load: s2c p50 ${f(t.queued.s2c.p50)} ms (${t.queued.s2c.samples} datagrams), ` +
      `c2s p50 ${f(t.queued.c2s.p50)} ms (${t.queued.c2s.samples})`,
    `   truth: idle = the injected round trip; loaded = NetPoke's idle + the hold p50 each way; RPM = 60000 / (idle + the mean hold each way)`,
    `   ${'metric'.padEnd(26)}${'truth'.padStart(10)}${'NetPoke'.padStart(10)}${'diff'.padStart(18)}`,
    row('idle RTT p50 ms', s.c2s.delayMs + s.s2c.delayMs, idle),
    row('loaded RTT p50 ms', t.rttP50Ms, loaded),
    row('loaded − idle RTT p50 ms', t.queueP50Ms, loaded - idle),
    row('RPM', t.rpm, m.responsiveness.responsiveness_rpm, 0),
    row(rate === null ? 'goodput p50 Mbit/s (no cap)' : 'goodput p50 Mbit/s (rate)', rate, median(t.goodputMbps)),
    `   goodput per loaded second (Mbit/s): ${t.goodputMbps.map((x) => x.toFixed(1)).join(' ')}`,
  ].join('\n');
}
