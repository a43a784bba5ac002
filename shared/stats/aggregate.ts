import type { DirectionStats, PercentileSource } from './direction-stats.js';
import { emptyDirectionStats } from './direction-stats.js';
import { nearestRank, type Quad } from './percentiles.js';
import { storedResponsiveness, type ResponsivenessFrom } from './responsiveness.js';
import { decodeWindowSketches, encodeSketch, mergeSketches, rememberDecoded, SKETCH_FORMAT, sketchQuad, type DecodedSketches, type Sketch, type WindowSketches } from './sketch.js';

/** The counts behind one window's rates (PROTOCOL.md §2): what every longer window is summed from. */
export interface WindowCounts {
  lost: number;
  expected: number;
  received: number;
  reordered: number;
  late: number;
  pausedMs: number;
}

/**
 * Recovers a window's counts from its stats. `probes_expected` is exact when
 * present; an older peer's stats without it give expected = received / (1 − loss).
 */
export function windowCounts(s: DirectionStats): WindowCounts {
  const expected = s.probes_expected ?? (s.loss_rate < 100 ? Math.round(s.probe_count / (1 - s.loss_rate / 100)) : 0);
  return {
    lost: s.lost_count ?? Math.round((s.loss_rate / 100) * expected),
    expected,
    received: s.probe_count,
    reordered: Math.round((s.reorder_rate / 100) * s.probe_count),
    late: s.late_count ?? 0,
    pausedMs: s.sender_paused_ms ?? 0,
  };
}

/**
 * Summarises per-window stats over a longer window (10 s, 60 s, a survey,
 * several connections) by counts, never by averaging rates: loss is
 * Σ lost / Σ expected over every window — one in which nothing arrived still
 * counts what it expected — and reordering Σ reordered / Σ received.
 * p50/p99 are those of the windows' merged sketches when every window with
 * samples carries them (`percentiles: 'merged'`); when one does not (an older
 * peer or survey) no sketch is used and, over the windows with data, p50 = median
 * of the p50s, p99 = the largest p99 (`'per_second_approx'`). Min of mins, max
 * of maxes either way. The baseline is the latest seen. `keepSketches` gives
 * the aggregate the merged sketches too, for one that is aggregated again
 * (windows of several connections in one second, then their 60 s column).
 * Delay deviation merges only the windows that had a baseline (their delay
 * sketch is empty without one): null when none had.
 */
export function aggregateStats(list: readonly DirectionStats[], opts: { keepSketches?: boolean } = {}): DirectionStats {
  const counts = list.map(windowCounts);
  const sum = (pick: (c: WindowCounts) => number) => counts.reduce((n, c) => n + pick(c), 0);
  const expected = sum((c) => c.expected);
  const received = sum((c) => c.received);
  const withData = list.filter((s) => s.probe_count > 0);
  const deviations = withData.flatMap((s) => (s.delay_deviation_ms ? [s.delay_deviation_ms] : []));
  const withRtt = list.filter((s) => s.rtt_ms[3] > 0);
  const withThroughput = list.filter((s) => s.throughput_bps !== undefined);
  const tmax = list.find((s) => s.loss_tmax_ms !== undefined)?.loss_tmax_ms;
  if (list.length === 0) return emptyDirectionStats();
  const sketched = withData.every(hasSketches) && withRtt.every(hasSketches);
  const source: PercentileSource | undefined = withData.length || withRtt.length ? (sketched ? 'merged' : 'per_second_approx') : undefined;
  // Merged sketches of every window (empty ones add nothing).
  const all = sketched ? { delay: mergeOf(list, 'delay'), ipdv: mergeOf(list, 'ipdv'), rtt: mergeOf(list, 'rtt') } : null;
  const merged = (quad: Quad, sketch: Sketch | undefined): Quad => (sketch ? sketchQuad(quad, sketch) : quad);
  return {
    delay_deviation_ms: withData.length > 0 && deviations.length === 0 ? null : merged(mergeQuads(deviations), all?.delay),
    rtt_ms: merged(mergeQuads(withRtt.map((s) => s.rtt_ms)), all?.rtt),
    jitter_ms: merged(mergeQuads(withData.map((s) => s.jitter_ms)), all?.ipdv),
    loss_rate: expected ? (sum((c) => c.lost) / expected) * 100 : 0,
    reorder_rate: received ? (sum((c) => c.reordered) / received) * 100 : 0,
    probe_count: received,
    baseline_delay_ms: (withData.at(-1) ?? list.at(-1))!.baseline_delay_ms,
    ...(tmax !== undefined ? { loss_tmax_ms: tmax } : {}),
    probes_expected: expected,
    lost_count: sum((c) => c.lost),
    late_count: sum((c) => c.late),
    sender_paused_ms: sum((c) => c.pausedMs),
    loaded: list.some((s) => s.loaded === true),
    ...(withThroughput.length ? { throughput_bps: withThroughput.reduce((n, s) => n + s.throughput_bps!, 0) / withThroughput.length } : {}),
    ...(source ? { percentiles: source } : {}),
    ...(all && opts.keepSketches ? { sketches: encodedKnown(all), sketch_format: SKETCH_FORMAT } : {}),
  };
}

/**
 * The merged sketches, each encoded only when first read, their decoded form remembered: the page aggregates its
 * aggregates every second and merges them again without ever reading the text (encoding was most of its per-second
 * work), while anything that sends or stores one reads the encoded text as from plain data.
 */
function encodedKnown(all: DecodedSketches): WindowSketches {
  const w = {} as WindowSketches;
  for (const kind of ['delay', 'ipdv', 'rtt'] as const) {
    let text: string | undefined;
    Object.defineProperty(w, kind, { enumerable: true, get: () => (text ??= encodeSketch(all[kind])) });
  }
  rememberDecoded(w, all);
  return w;
}

function mergeQuads(quads: readonly Quad[]): Quad {
  if (quads.length === 0) return [0, 0, 0, 0];
  const p50s = quads.map((q) => q[0]).sort((a, b) => a - b);
  return [nearestRank(p50s, 50), Math.max(...quads.map((q) => q[1])), Math.min(...quads.map((q) => q[2])), Math.max(...quads.map((q) => q[3]))];
}

/** The merge of one kind of sketch over the windows that carry sketches. */
function mergeOf(list: readonly DirectionStats[], kind: keyof WindowSketches): Sketch {
  return mergeSketches(list.flatMap((s) => (hasSketches(s) ? [decodeWindowSketches(s.sketches!)![kind]] : [])));
}

/** The window carries sketches in our format that decode. */
function hasSketches(s: DirectionStats): boolean {
  return s.sketch_format === SKETCH_FORMAT && s.sketches !== undefined && decodeWindowSketches(s.sketches) !== null;
}

/** Idle latency and latency under load, side by side: the same aggregation over unloaded and loaded windows apart. */
export interface LoadSplit {
  idle: DirectionStats;
  loaded: DirectionStats;
  /** Round trips per minute under load (draft-ietf-ippm-responsiveness, see storedResponsiveness); null without loaded RTT samples. */
  responsiveness_rpm: number | null;
  /** 'trimmed_mean' (the draft's, from the loaded seconds' merged RTT sketches) or 'p50_approx' (a loaded second had none). */
  responsiveness_from: ResponsivenessFrom | null;
}

/** Splits windows by their `loaded` flag and aggregates each side. */
export function splitByLoad(list: readonly DirectionStats[]): LoadSplit {
  const loadedList = list.filter((s) => s.loaded === true);
  const loaded = aggregateStats(loadedList);
  return {
    idle: aggregateStats(list.filter((s) => s.loaded !== true)),
    loaded,
    ...storedResponsiveness(loaded.percentiles === 'merged' ? mergeOf(loadedList, 'rtt') : null, loaded.rtt_ms[0]),
  };
}
