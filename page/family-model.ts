// The page's measurements per address family and per path (issue 22): each connection's windows kept by index,
// a family's line and summary summed by counts over its paths (aggregateStats), and the worst path picked out.
import type { IpFamily } from '../shared/ip-family.js';
import { aggregateStats, type DirectionStats } from '../shared/stats/index.js';
import type { PathBadness } from '../shared/stats/worst-path.js';
import type { SelectedPair } from '../client/connection.js';

/** One connection's window of one second: the relay's c2s (null until it came) and this page's s2c. */
interface PathWindow {
  c2s: DirectionStats | null;
  s2c: DirectionStats;
}

/** One path of a family: a connection held to that family, its windows by index and its own send-slip. */
export interface PathTrack {
  conn_id: string;
  /** Null where the survey held connections to no family (ICE picked). */
  family: IpFamily | null;
  path_index: number;
  /** The address pair its ICE ended on (this browser's side first); null until known or where not reported. */
  pair: SelectedPair | null;
  windows: Map<number, PathWindow>;
  /** Time this page could not keep this connection's probe schedule, summed over its windows (ms). */
  paused_ms: number;
}

/** Both directions of a path or family over a span, summed by counts. */
export interface Figures {
  c2s: DirectionStats;
  s2c: DirectionStats;
}

export interface FamilyModel {
  paths: Map<string, PathTrack>;
  /** Families asked for that could not connect, with why. */
  unavailable: Map<IpFamily, string>;
}

/** Seconds of per-path history kept for the charts and summaries. */
const KEEP_WINDOWS = 600;

export function createFamilyModel(): FamilyModel {
  return { paths: new Map(), unavailable: new Map() };
}

/** Registers a connection's path (the survey's `connection` event) so it shows before its first second. */
export function addPath(m: FamilyModel, conn_id: string, family: IpFamily | null, path_index: number, pair: SelectedPair | null = null): PathTrack {
  const known = m.paths.get(conn_id);
  if (known) {
    known.pair ??= pair;
    return known;
  }
  const p: PathTrack = { conn_id, family, path_index, pair, windows: new Map(), paused_ms: 0 };
  m.paths.set(conn_id, p);
  return p;
}

/** Records one connection's second: its window by index and the page's own send-slip in it. */
export function addWindow(
  m: FamilyModel,
  e: { conn_id: string; family?: IpFamily; path_index?: number; window_index: number; c2s: DirectionStats | null; s2c: DirectionStats; own_paused_ms: number },
): void {
  const p = addPath(m, e.conn_id, e.family ?? null, e.path_index ?? 0);
  p.windows.set(e.window_index, { c2s: e.c2s, s2c: e.s2c });
  p.paused_ms += e.own_paused_ms;
  if (p.windows.size > KEEP_WINDOWS) p.windows.delete(Math.min(...p.windows.keys()));
}

/** A relay window that came after its second: it joins that second's path window; false if the second is unknown. */
export function addLateRelayWindow(m: FamilyModel, conn_id: string, index: number, c2s: DirectionStats): boolean {
  const w = m.paths.get(conn_id)?.windows.get(index);
  if (!w) return false;
  // Keeping the sketches, so the path's and family's figures over the survey can still merge them.
  w.c2s = w.c2s ? aggregateStats([w.c2s, c2s], { keepSketches: true }) : c2s;
  return true;
}

/** Figures of a set of windows by counts (both directions). */
function figuresOf(ws: readonly PathWindow[]): Figures {
  return { c2s: aggregateStats(ws.flatMap((w) => (w.c2s ? [w.c2s] : []))), s2c: aggregateStats(ws.map((w) => w.s2c)) };
}

/** The paths, by family (IPv4 first) then path index. */
export function sortedPaths(m: FamilyModel): PathTrack[] {
  return [...m.paths.values()].sort((a, b) => (a.family ?? '').localeCompare(b.family ?? '') || a.path_index - b.path_index);
}

/** The families that have paths, in order. */
export function familiesOf(m: FamilyModel): (IpFamily | null)[] {
  return [...new Set(sortedPaths(m).map((p) => p.family))];
}

/** A path's figures over the whole survey. */
export function pathFigures(p: PathTrack): Figures {
  return figuresOf([...p.windows.values()]);
}

/** A family's figures over the whole survey: every window of every path, by counts. */
export function familyFigures(m: FamilyModel, family: IpFamily | null): Figures {
  return figuresOf([...m.paths.values()].filter((p) => p.family === family).flatMap((p) => [...p.windows.values()]));
}

/**
 * A family's line over time: per window index, its paths' windows of that index summed by counts, or one path's
 * alone when `pathIndex` is given. Indexes ascend.
 */
export function familySeries(m: FamilyModel, family: IpFamily | null, pathIndex?: number): { index: number; f: Figures }[] {
  const byIndex = new Map<number, PathWindow[]>();
  for (const p of m.paths.values()) {
    if (p.family !== family || (pathIndex !== undefined && p.path_index !== pathIndex)) continue;
    for (const [i, w] of p.windows) byIndex.set(i, [...(byIndex.get(i) ?? []), w]);
  }
  return [...byIndex.entries()].sort((a, b) => a[0] - b[0]).map(([index, ws]) => ({ index, f: figuresOf(ws) }));
}

/** A path's badness for worstPath: the worse direction's loss and RTT p99. */
export function badness(conn_id: string, f: Figures): PathBadness {
  return { id: conn_id, loss_rate: Math.max(f.c2s.loss_rate, f.s2c.loss_rate), rtt_p99_ms: Math.max(f.c2s.rtt_ms[1], f.s2c.rtt_ms[1]) };
}
