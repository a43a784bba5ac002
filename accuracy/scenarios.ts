// The accuracy scenarios: what the forwarder does to each direction.
import type { ImpairmentSpec } from './impairment.js';

export interface Scenario {
  name: string;
  c2s: ImpairmentSpec;
  s2c: ImpairmentSpec;
  seed: number;
  /** Runs a download throughput test through the forwarder too, and compares idle and loaded round trips (see run-load-scenario.ts). */
  load?: boolean;
  /** Loss stays on through the stop, so the last second's probes are lost too (the tail must be counted). */
  armThroughStop?: boolean;
  /** The client sends start_probe_streams this long after its probes begin, with loss already on (no false loss). */
  startStreamsDelayMs?: number;
  /** Probes for at least this long whatever --seconds says (a p99 needs its thousands of samples). */
  minSeconds?: number;
  /** Issue 17 (e): the survey's |IPDV| and RTT p99, merged from the stored sketches, are held to this fraction of the forwarder's. */
  p99Within?: number;
}

const spec = (delayMs: number, jitterMs = 0, lossPct = 0, reorderPct = 0): ImpairmentSpec => ({ delayMs, jitterMs, lossPct, reorderPct });
const both = (name: string, s: ImpairmentSpec, seed: number): Scenario => ({ name, c2s: s, s2c: s, seed });

/** Every scenario `npm run accuracy` knows, in the order it runs them. */
export const SCENARIOS: readonly Scenario[] = [
  both('clean-0ms', spec(0), 1),
  both('clean-10ms', spec(10), 2),
  both('10ms-jitter3-loss1-reorder1', spec(10, 3, 1, 1), 3),
  both('25ms-jitter10-loss3', spec(25, 10, 3), 4),
  { name: 'asymmetric-5ms-40ms', c2s: spec(5), s2c: spec(40), seed: 5 },
  // Issue 17 (a): a 20 Mbit/s bottleneck with a 100 ms drop-tail queue that the download fills.
  { ...both('load-bottleneck-20mbps', { ...spec(5), rateMbps: 20, queueMs: 100 }, 1717), load: true },
  // Issue 17 (b): a fat path, no rate limit: nothing should queue the probes behind the load.
  { ...both('load-fat-path', spec(5), 1718), load: true },
  // (c) of issue 17: 75 ms each way, 2 % loss up to and through the stop: the tail's losses count.
  { ...both('tail-75ms-loss2', spec(75, 0, 2), 6), armThroughStop: true },
  // (d): loss from the first second on, and a start_probe_streams that reaches the relay a second late.
  { ...both('late-start-75ms-loss2', spec(75, 0, 2), 7), startStreamsDelayMs: 1_000 },
  // (e): percentiles over a whole survey of at least 120 s, merged from per-second sketches. A wide spread (80 ± 40 ms)
  // makes the |IPDV| p99 some 50 ms, so the stacks' own timing noise (a millisecond or two on a loaded machine) stays inside the 5 %.
  { ...both('survey-p99-80ms-jitter40', spec(80, 40), 20_261_206), minSeconds: 120, p99Within: 0.05 },
];

/** The scenario of that name (the integration tests run shortened forms of some). */
export function scenarioNamed(name: string): Scenario {
  const s = SCENARIOS.find((x) => x.name === name);
  if (!s) throw new Error(`no scenario ${name}`);
  return s;
}

/** A one-line description of a direction's impairment. */
export function describeSpec(s: ImpairmentSpec): string {
  const rate = s.rateMbps ? `, ${s.rateMbps} Mbit/s with a ${s.queueMs ?? 100} ms drop-tail queue` : '';
  return `${s.delayMs}±${s.jitterMs} ms, loss ${s.lossPct} %, reorder ${s.reorderPct} %${rate}`;
}
