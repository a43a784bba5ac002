// Prints a scenario's comparison as a plain-text table.
import { compare, p99Checks } from './compare.js';
import type { ScenarioResult } from './run-scenario.js';
import { describeSpec } from './scenarios.js';

const fmt = (x: number, unit: string) => (Number.isNaN(x) ? '–' : unit === 'probes' ? String(Math.round(x)) : x.toFixed(2));
const pad = (s: string, n: number) => s.padEnd(n);
const padL = (s: string, n: number) => s.padStart(n);

/** The table for one scenario: per direction, what the forwarder did and what NetPoke measured. */
export function formatScenario(r: ScenarioResult): string {
  const lines: string[] = [];
  const c = compare(r);
  lines.push(`== ${r.scenario.name} (seed ${r.scenario.seed}, ${r.seconds} s of probing)`);
  for (const dir of ['c2s', 's2c'] as const) {
    const t = r.truth[dir];
    const m = r.measured[dir];
    const by = dir === 'c2s' ? 'relay' : 'client';
    lines.push(`-- ${dir}: injected ${describeSpec(r.scenario[dir])}`);
    lines.push(
      `   forwarder: ${t.seen} probe-sized datagrams while probing, ${t.forwarded} forwarded, ${t.dropped} dropped, ${t.held} held back, ${t.reordered} reordered; applied delay p50 ${t.applied.p50.toFixed(2)} ms`,
    );
    const paused = m.stats.sender_paused_ms ? `; the sender reported ${Math.round(m.stats.sender_paused_ms)} ms of pauses (machine stalls)` : '';
    const bundled = (m.stats.probes_expected ?? 0) > t.seen ? '\n   (more probes than datagrams: SCTP bundled some after stalls, so one drop may have lost several)' : '';
    const from = m.stats.percentiles === 'merged' ? 'p50/p99 merged from per-second sketches' : 'p50/p99 approximate: median of per-second p50s, worst p99 (rows without sketches)';
    lines.push(`   NetPoke (${by}): ${m.rows} rows, ${m.stats.probes_expected ?? '?'} probes expected, ${m.stats.probe_count} received${paused}${bundled}; ${from}`);
    lines.push(`   ${pad('metric', 22)}${padL('truth', 10)}${padL('NetPoke', 10)}${padL('diff', 10)}`);
    for (const x of c[dir]) {
      const unit = x.unit === 'probes' ? '' : ` ${x.unit}`;
      lines.push(`   ${pad(x.metric + unit, 22)}${padL(fmt(x.truth, x.unit), 10)}${padL(fmt(x.netpoke, x.unit), 10)}${padL(fmt(x.netpoke - x.truth, x.unit), 10)}`);
    }
  }
  const rttTruth = c.c2s.find((x) => x.metric === 'RTT p50')!.truth;
  lines.push(`-- round trip (both ends' rows): RTT p50 truth ${rttTruth.toFixed(2)} ms, NetPoke ${r.measured.rttP50.toFixed(2)} ms, diff ${(r.measured.rttP50 - rttTruth).toFixed(2)} ms`);
  const rttP99 = c.c2s.find((x) => x.metric === 'RTT p99')!.truth;
  lines.push(`   RTT p99 truth ${rttP99.toFixed(2)} ms, NetPoke ${r.measured.rttP99.toFixed(2)} ms, diff ${(r.measured.rttP99 - rttP99).toFixed(2)} ms`);
  const bound = r.scenario.p99Within;
  if (bound !== undefined) {
    for (const x of p99Checks(r, bound)) lines.push(`   (e) ${x.what}: truth ${x.truth.toFixed(2)} ms, NetPoke ${x.netpoke.toFixed(2)} ms, ${x.within ? 'within' : 'NOT within'} ${bound * 100} %`);
  }
  lines.push(
    `   the path's own round trip (through an unimpaired forwarder, same cadence): bare UDP RTT p50 ${r.pathBase.rttP50.toFixed(2)} ms, bare data channel ${r.pathBase.channelRttP50.toFixed(2)} ms`,
  );
  lines.push(`   path: relay selected client ${r.relaySawClient.ip}:${r.relaySawClient.port} = forwarder upstream; client-facing port ${r.log.port}`);
  return lines.join('\n');
}
