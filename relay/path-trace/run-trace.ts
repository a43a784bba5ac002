// One path trace toward a connection's peer: rounds of UDP probes at rising TTL from the relay's own port, then the path MTU.
import { isIP } from 'node:net';
import type { PathHop } from '../../shared/protocol/control.js';
import { lastHopTtl, summarizeHops, type ProbeOutcome } from './hop-stats.js';
import type { MtrPacket } from './mtr-packet.js';
import type { ProbeBudget } from './probe-budget.js';
import type { PathMtu } from './tracepath.js';
import type { TraceTarget } from './trace-target.js';

export interface TraceSettings {
  /** Probes per TTL (default 5: within a Linux router's ICMP burst of 6). */
  probesPerHop: number;
  maxHops: number;
  /** Seconds mtr-packet waits for each probe's answer. */
  probeTimeoutS: number;
  /** Probe size in bytes, IP and UDP headers included (small: the MTU is tracepath's part). */
  probeSize: number;
}

export const DEFAULT_TRACE_SETTINGS: TraceSettings = { probesPerHop: 5, maxHops: 30, probeTimeoutS: 2, probeSize: 64 };

export type TraceResult =
  | { available: true; hops: PathHop[]; pathMtu: number | null; mtuReporter: string | null }
  | { available: false; reason: string };

export interface TraceDeps {
  mtr: MtrPacket;
  budget: ProbeBudget;
  /** The relay's source address (unset: the kernel's choice) and its UDP port, so the probes share the survey's 5-tuple. */
  local: { address?: string; port: number };
  /** The path MTU toward the target within `maxHops`. */
  pathMtu: (target: TraceTarget, maxHops: number) => Promise<PathMtu>;
}

/**
 * Traces toward `target`: a first round probes every TTL up to maxHops once; the later rounds only up to the
 * destination (or two past the last hop that answered), so a silent peer costs little. A probe that cannot be
 * sent at all (no privilege, no mtr-packet) makes the whole trace unavailable, with the reason.
 */
export async function runTrace(target: TraceTarget, deps: TraceDeps, settings: TraceSettings = DEFAULT_TRACE_SETTINGS): Promise<TraceResult> {
  const outcomes: ProbeOutcome[] = [];
  // The relay's bound address only when it is of the target's family (else the kernel picks one of that family).
  const localAddress = deps.local.address && isIP(deps.local.address) === target.family ? deps.local.address : undefined;
  const probe = async (ttl: number) => {
    await deps.budget.take();
    const reply = await deps.mtr.probe({
      address: target.address,
      port: target.port,
      ...(localAddress ? { localAddress } : {}),
      localPort: deps.local.port,
      ttl,
      timeoutS: settings.probeTimeoutS,
      size: settings.probeSize,
    });
    outcomes.push({ ttl, reply });
    return reply;
  };
  const first = await Promise.all(Array.from({ length: settings.maxHops }, (_, i) => probe(i + 1)));
  const failed = first.find((r) => r.kind === 'failed');
  if (failed?.kind === 'failed' && first.every((r) => r.kind === 'failed')) return { available: false, reason: failed.reason };
  const reached = outcomes.filter((o) => o.reply.kind === 'reply').map((o) => o.ttl);
  const answered = outcomes.filter((o) => o.reply.kind === 'ttl-expired').map((o) => o.ttl);
  const upTo = reached.length ? Math.min(...reached) : Math.min(settings.maxHops, (answered.length ? Math.max(...answered) : 0) + 2);
  // The other rounds at once, round by round in the budget's queue: a silent hop's timeouts overlap instead of adding up,
  // and each router sees its probes spread over the trace rather than in one burst.
  const rest: Promise<unknown>[] = [];
  for (let round = 1; round < settings.probesPerHop; round++) for (let ttl = 1; ttl <= upTo; ttl++) rest.push(probe(ttl));
  await Promise.all(rest);
  const hops = summarizeHops(outcomes.filter((o) => o.ttl <= upTo));
  const mtu = await deps.pathMtu(target, Math.min(settings.maxHops, lastHopTtl(outcomes) + 1));
  return { available: true, hops, pathMtu: mtu.pathMtu, mtuReporter: mtu.reporter };
}
