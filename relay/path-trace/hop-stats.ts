// Turns the replies of a trace's probes into its hop table: per TTL the responding address, RTT [p50, max] and loss.
import type { PathHop } from '../../shared/protocol/control.js';
import { nearestRank } from '../../shared/stats/percentiles.js';
import type { ProbeReply } from './mtr-packet.js';

export interface ProbeOutcome {
  ttl: number;
  reply: ProbeReply;
}

/** The trace's hops; `failed` probes (never sent) do not count. Ends at the destination, or one silent hop past the last that answered. */
export function summarizeHops(outcomes: readonly ProbeOutcome[]): PathHop[] {
  const byTtl = new Map<number, ProbeReply[]>();
  for (const o of outcomes) {
    if (o.reply.kind === 'failed') continue;
    byTtl.set(o.ttl, [...(byTtl.get(o.ttl) ?? []), o.reply]);
  }
  const last = lastHopTtl(outcomes);
  const hops: PathHop[] = [];
  for (let ttl = 1; ttl <= last; ttl++) {
    const replies = byTtl.get(ttl) ?? [];
    const answered = replies.flatMap((r) => (r.kind === 'ttl-expired' || r.kind === 'reply' ? [r] : []));
    const rtts = answered.map((r) => r.rttMs).sort((a, b) => a - b);
    hops.push({
      ttl,
      address: mostFrequent(answered.map((r) => r.address)),
      rtt_ms: rtts.length ? [round3(nearestRank(rtts, 50)), round3(rtts[rtts.length - 1]!)] : null,
      loss_rate: replies.length ? round4(1 - answered.length / replies.length) : 1,
      probes: replies.length,
    });
  }
  return hops;
}

/** The TTL the hop table ends at: the destination's, else one past the last hop that answered (capped at the highest probed). */
export function lastHopTtl(outcomes: readonly ProbeOutcome[]): number {
  const reached = outcomes.filter((o) => o.reply.kind === 'reply').map((o) => o.ttl);
  if (reached.length) return Math.min(...reached);
  const probed = outcomes.filter((o) => o.reply.kind !== 'failed').map((o) => o.ttl);
  if (!probed.length) return 0;
  const answered = outcomes.filter((o) => o.reply.kind === 'ttl-expired').map((o) => o.ttl);
  return Math.min(Math.max(...probed), (answered.length ? Math.max(...answered) : 0) + 1);
}

function mostFrequent(values: readonly string[]): string | null {
  const counts = new Map<string, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  let best: string | null = null;
  for (const [v, n] of counts) if (best === null || n > counts.get(best)!) best = v;
  return best;
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;
const round4 = (x: number) => Math.round(x * 10000) / 10000;
