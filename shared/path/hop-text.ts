// A path trace as plain text lines (the CLI prints them): one line a hop, then the path MTU and the hop that limits it.
import type { PathHop } from '../protocol/control.js';

/** What every view of a trace shows (the CLI, the page, the console). */
export interface TraceView {
  hops: PathHop[];
  path_mtu: number | null;
  mtu_hop: number | null;
  available: boolean;
  reason?: string | null;
}

/** One hop's cells: TTL, address (with its name), RTT p50 / max in ms, loss in percent. */
export function hopCells(h: PathHop): [string, string, string, string] {
  const where = h.address === null ? '*' : h.name ? `${h.name} (${h.address})` : h.address;
  const rtt = h.rtt_ms ? `${h.rtt_ms[0].toFixed(2)} / ${h.rtt_ms[1].toFixed(2)}` : '–';
  return [String(h.ttl), where, rtt, `${(h.loss_rate * 100).toFixed(1)} %`];
}

/** The path MTU sentence: the MTU, and which hop reported it when one did. */
export function mtuText(t: TraceView): string {
  if (t.path_mtu === null) return 'path MTU unknown';
  return t.mtu_hop === null ? `path MTU ${t.path_mtu}` : `path MTU ${t.path_mtu}, limited at hop ${t.mtu_hop}`;
}

/** The whole trace as text lines. */
export function traceLines(t: TraceView): string[] {
  if (!t.available) return [`path trace unavailable: ${t.reason ?? 'no reason given'}`];
  const rows = [['hop', 'address', 'RTT p50 / max ms', 'loss'], ...t.hops.map(hopCells)];
  const widths = [0, 1, 2, 3].map((i) => Math.max(...rows.map((r) => r[i]!.length)));
  return [...rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()), mtuText(t)];
}
