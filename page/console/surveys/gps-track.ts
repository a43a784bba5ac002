// The walk's GPS track as an SVG line (no map tiles, no third-party hosts), each stretch coloured by a chosen
// metric at that moment of the survey, with a dot that follows the video.
import { rowNear, type Direction, type MetricRow } from './metric-series.js';

export interface Fix {
  t: number;
  lat: number;
  lon: number;
}

/** The position lines of a sensor log (NDJSON); other lines and bad ones are skipped. */
export function parseFixes(ndjson: string): Fix[] {
  const fixes: Fix[] = [];
  for (const line of ndjson.split('\n')) {
    if (!line.trim()) continue;
    try {
      const v = JSON.parse(line) as { t?: unknown; type?: unknown; lat?: unknown; lon?: unknown };
      if (v.type === 'position' && typeof v.t === 'number' && typeof v.lat === 'number' && typeof v.lon === 'number') fixes.push({ t: v.t, lat: v.lat, lon: v.lon });
    } catch {
      // A torn last line of a crashed recording.
    }
  }
  return fixes.sort((a, b) => a.t - b.t);
}

export type TrackMetric = 'loss' | 'rtt' | 'delay';

const READ: Record<TrackMetric, (r: MetricRow) => number | null> = {
  loss: (r) => r.loss_rate,
  rtt: (r) => ((r.rtt_p50_ms ?? 0) > 0 ? r.rtt_p50_ms : null),
  delay: (r) => ((r.probe_count ?? 0) > 0 ? r.delay_p99_ms : null),
};

const SVG = 'http://www.w3.org/2000/svg';
const W = 600;
const H = 400;
const PAD = 20;

/** Green (best) to red (worst of the walk); grey where the survey has no number. */
function colour(v: number | null, max: number): string {
  if (v === null) return '#9ca3af';
  const f = max > 0 ? Math.min(1, v / max) : 0;
  return `hsl(${Math.round(120 * (1 - f))}, 70%, 42%)`;
}

export interface TrackView {
  svg: SVGSVGElement;
  /** Moves the dot to where the walker was at `atMs` (survey clock). */
  setTime(atMs: number): void;
}

/** Draws the track of `fixes`, coloured by `metric` of `direction` from the survey's rows. */
export function drawTrack(fixes: Fix[], rows: readonly MetricRow[], metric: TrackMetric, direction: Direction): TrackView {
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', `GPS track coloured by ${metric}`);
  svg.classList.add('track');
  const lat0 = fixes.reduce((n, f) => n + f.lat, 0) / (fixes.length || 1);
  const k = Math.cos((lat0 * Math.PI) / 180);
  const xs = fixes.map((f) => f.lon * k);
  const ys = fixes.map((f) => f.lat);
  const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  const scale = Math.min((W - 2 * PAD) / (x1 - x0 || 1e-9), (H - 2 * PAD) / (y1 - y0 || 1e-9));
  const px = (i: number) => PAD + (xs[i]! - x0) * scale;
  const py = (i: number) => H - PAD - (ys[i]! - y0) * scale;
  const values = fixes.map((f) => {
    const r = rowNear(rows, f.t, direction);
    return r ? READ[metric](r) : null;
  });
  const max = Math.max(0, ...values.filter((v): v is number => v !== null));
  for (let i = 1; i < fixes.length; i++) {
    const seg = document.createElementNS(SVG, 'line');
    for (const [a, v] of [['x1', px(i - 1)], ['y1', py(i - 1)], ['x2', px(i)], ['y2', py(i)]] as const) seg.setAttribute(a, v.toFixed(1));
    seg.setAttribute('stroke', colour(values[i] ?? null, max));
    seg.setAttribute('stroke-width', '4');
    seg.setAttribute('stroke-linecap', 'round');
    svg.append(seg);
  }
  const dot = document.createElementNS(SVG, 'circle');
  dot.setAttribute('r', '7');
  dot.classList.add('track-dot');
  if (fixes.length) {
    dot.setAttribute('cx', px(0).toFixed(1));
    dot.setAttribute('cy', py(0).toFixed(1));
  }
  svg.append(dot);
  return {
    svg,
    setTime(atMs) {
      if (!fixes.length) return;
      let i = 0;
      while (i + 1 < fixes.length && fixes[i + 1]!.t <= atMs) i++;
      dot.setAttribute('cx', px(i).toFixed(1));
      dot.setAttribute('cy', py(i).toFixed(1));
    },
  };
}
