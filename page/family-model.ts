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
  /**
   * Every window below `sealedBelow`, folded in by counts with its sketches kept: the survey's figures then merge
   * these and the recent windows only, where merging every window each second grew with the survey (at 3 minutes,
   * 50–100 ms of the page's main thread a second, which the page's own probe timestamps then carried as delay).
   */
  sealed: { c2s: DirectionStats | null; s2c: DirectionStats | null };
  sealedBelow: number;
  /** The highest window index seen. */
  newest: number;
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
  /** A chart line's figures by window index, then by line (family and path choice), with the windows they came from. */
  series: Map<number, Map<string, { from: readonly unknown[]; f: Figures }>>;
}

/** Seconds of per-path history kept for the charts. */
const KEEP_WINDOWS = 600;
/** How far behind a path's newest window one is sealed: a relay's window comes a second or two after its second. */
export const SEAL_AFTER = 30;

export function createFamilyModel(): FamilyModel {
  return { paths: new Map(), unavailable: new Map(), series: new Map() };
}

/** Registers a connection's path (the survey's `connection` event) so it shows before its first second. */
export function addPath(m: FamilyModel, conn_id: string, family: IpFamily | null, path_index: number, pair: SelectedPair | null = null): PathTrack {
  const known = m.paths.get(conn_id);
  if (known) {
    known.pair ??= pair;
    return known;
  }
  const p: PathTrack = { conn_id, family, path_index, pair, windows: new Map(), paused_ms: 0, sealed: { c2s: null, s2c: null }, sealedBelow: -1, newest: -1 };
  m.paths.set(conn_id, p);
  return p;
}

/** Records one connection's second: its window by index and the page's own send-slip in it. */
export function addWindow(
  m: FamilyModel,
  e: { conn_id: string; family?: IpFamily; path_index?: number; window_index: number; c2s: DirectionStats | null; s2c: DirectionStats; own_paused_ms: number },
): void {
  const p = addPath(m, e.conn_id, e.family ?? null, e.path_index ?? 0);
  if (p.sealedBelow < 0) p.sealedBelow = e.window_index;
  p.paused_ms += e.own_paused_ms;
  // A window of a second already sealed (the page never sends one) joins the sealed figures, as a late relay window does.
  if (e.window_index < p.sealedBelow) {
    fold(p, { c2s: e.c2s, s2c: e.s2c });
    return;
  }
  p.windows.set(e.window_index, { c2s: e.c2s, s2c: e.s2c });
  p.newest = Math.max(p.newest, e.window_index);
  for (; p.sealedBelow < p.newest - SEAL_AFTER; p.sealedBelow++) {
    const w = p.windows.get(p.sealedBelow);
    if (w) fold(p, w);
  }
  if (p.windows.size > KEEP_WINDOWS) {
    const oldest = Math.min(...p.windows.keys());
    p.windows.delete(oldest);
    m.series.delete(oldest);
  }
}

/** Folds a window (or a late part of one) into a path's sealed figures, by counts, sketches kept. */
function fold(p: PathTrack, w: { c2s: DirectionStats | null; s2c: DirectionStats | null }): void {
  const into = (sealed: DirectionStats | null, add: DirectionStats | null) => (add ? (sealed ? aggregateStats([sealed, add], { keepSketches: true }) : add) : sealed);
  p.sealed = { c2s: into(p.sealed.c2s, w.c2s), s2c: into(p.sealed.s2c, w.s2c) };
}

/** A relay window that came after its second: it joins that second's path window; false if the second is unknown. */
export function addLateRelayWindow(m: FamilyModel, conn_id: string, index: number, c2s: DirectionStats): boolean {
  const p = m.paths.get(conn_id);
  const w = p?.windows.get(index);
  if (!p || (!w && index >= p.sealedBelow)) return false;
  // Keeping the sketches, so the path's and family's figures over the survey can still merge them.
  if (w) w.c2s = w.c2s ? aggregateStats([w.c2s, c2s], { keepSketches: true }) : c2s;
  if (index < p.sealedBelow) fold(p, { c2s, s2c: null });
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

/** Paths' figures over the whole survey: each one's sealed figures and the windows after them, by counts. */
function surveyFigures(paths: readonly PathTrack[]): Figures {
  const c2s: DirectionStats[] = [];
  const s2c: DirectionStats[] = [];
  for (const p of paths) {
    if (p.sealed.c2s) c2s.push(p.sealed.c2s);
    if (p.sealed.s2c) s2c.push(p.sealed.s2c);
    for (const [i, w] of p.windows) {
      if (i < p.sealedBelow) continue;
      if (w.c2s) c2s.push(w.c2s);
      s2c.push(w.s2c);
    }
  }
  return { c2s: aggregateStats(c2s), s2c: aggregateStats(s2c) };
}

/** A path's figures over the whole survey. */
export function pathFigures(p: PathTrack): Figures {
  return surveyFigures([p]);
}

/** A family's figures over the whole survey: every window of every path, by counts. */
export function familyFigures(m: FamilyModel, family: IpFamily | null): Figures {
  return surveyFigures([...m.paths.values()].filter((p) => p.family === family));
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
  const line = `${family}|${pathIndex ?? 'all'}`;
  return [...byIndex.entries()].sort((a, b) => a[0] - b[0]).map(([index, ws]) => ({ index, f: cachedFigures(m, index, line, ws) }));
}

/** A line's figures at one index, computed again only when its windows changed (a late relay window replaces a c2s). */
function cachedFigures(m: FamilyModel, index: number, line: string, ws: readonly PathWindow[]): Figures {
  const from = ws.flatMap((w) => [w, w.c2s]);
  const at = m.series.get(index) ?? m.series.set(index, new Map()).get(index)!;
  const hit = at.get(line);
  if (hit && hit.from.length === from.length && hit.from.every((x, i) => x === from[i])) return hit.f;
  const f = figuresOf(ws);
  at.set(line, { from, f });
  return f;
}

/** A path's badness for worstPath: the worse direction's loss and RTT p99. */
export function badness(conn_id: string, f: Figures): PathBadness {
  return { id: conn_id, loss_rate: Math.max(f.c2s.loss_rate, f.s2c.loss_rate), rtt_p99_ms: Math.max(f.c2s.rtt_ms[1], f.s2c.rtt_ms[1]) };
}
