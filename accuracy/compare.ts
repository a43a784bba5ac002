// Puts the forwarder's truth next to NetPoke's numbers, metric by metric, for one direction of one run.
import type { ScenarioResult } from './run-scenario.js';
import { roundTripTruth } from './truth.js';

export interface ComparedMetric {
  metric: string;
  unit: '%' | 'ms' | 'probes';
  truth: number;
  /** NaN where NetPoke has no figure (delay variation before any baseline). */
  netpoke: number;
}

export type Compared = Record<'c2s' | 's2c', ComparedMetric[]>;

/** Each direction's metrics, truth beside NetPoke (c2s as the relay measured it, s2c as the client did). */
export function compare(r: ScenarioResult): Compared {
  const rtt = roundTripTruth(r.log);
  const one = (dir: 'c2s' | 's2c'): ComparedMetric[] => {
    const t = r.truth[dir];
    const m = r.measured[dir].stats;
    return [
      { metric: 'loss', unit: '%', truth: t.lossPct, netpoke: m.loss_rate },
      // The same loss with each dropped datagram weighed by its bytes: the probe rate when SCTP bundles probes.
      { metric: 'loss by bytes', unit: '%', truth: t.lossBytesPct, netpoke: m.loss_rate },
      // Probes, not datagrams: the forwarder's drops of what the receiver expected, against Σ lost_count of the rows.
      { metric: 'lost', unit: 'probes', truth: t.droppedExpected, netpoke: m.lost_count ?? NaN },
      { metric: 'reordered', unit: 'probes', truth: t.reordered, netpoke: r.measured[dir].reordered },
      { metric: 'RTT p50', unit: 'ms', truth: rtt.p50, netpoke: m.rtt_ms[0] },
      { metric: 'RTT p99', unit: 'ms', truth: rtt.p99, netpoke: m.rtt_ms[1] },
      { metric: 'IPDV p50', unit: 'ms', truth: t.ipdv.p50, netpoke: m.jitter_ms[0] },
      { metric: 'IPDV p99', unit: 'ms', truth: t.ipdv.p99, netpoke: m.jitter_ms[1] },
      { metric: 'delay variation p50', unit: 'ms', truth: t.deviation.p50, netpoke: m.delay_deviation_ms?.[0] ?? NaN },
      { metric: 'delay variation p99', unit: 'ms', truth: t.deviation.p99, netpoke: m.delay_deviation_ms?.[1] ?? NaN },
    ];
  };
  return { c2s: one('c2s'), s2c: one('s2c') };
}

/** One metric by name (the integration test asserts on a few). */
export function metric(list: readonly ComparedMetric[], name: string): ComparedMetric {
  const m = list.find((x) => x.metric === name);
  if (!m) throw new Error(`no metric ${name}`);
  return m;
}

/** Issue 17 (e): each direction's |IPDV| p99 and the survey's RTT p99 (both ends' rows) against the forwarder's, within `bound` (a fraction of the truth). */
export function p99Checks(r: ScenarioResult, bound: number): { what: string; truth: number; netpoke: number; within: boolean }[] {
  const check = (what: string, truth: number, netpoke: number) => ({ what, truth, netpoke, within: Math.abs(netpoke - truth) <= truth * bound });
  return [
    check('c2s |IPDV| p99', r.truth.c2s.ipdv.p99, r.measured.c2s.stats.jitter_ms[1]),
    check('s2c |IPDV| p99', r.truth.s2c.ipdv.p99, r.measured.s2c.stats.jitter_ms[1]),
    check('RTT p99', roundTripTruth(r.log).p99, r.measured.rttP99),
  ];
}
