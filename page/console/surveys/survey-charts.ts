// The survey console's time-series charts (uPlot): one per metric, a line per connection and direction (or
// per survey when comparing), gaps as gaps, loaded periods shaded, drag to zoom with pan and reset buttons,
// all charts on one time axis, and a cursor other parts (the video) can move and follow.
import uPlot from 'uplot';
import { h } from '../dom.js';
import type { ChartData } from './metric-series.js';

export interface ChartLine {
  label: string;
  color: string;
  dash?: number[];
}

export interface ChartInput {
  id: string;
  title: string;
  unit: string;
  data: ChartData;
  lines: ChartLine[];
}

export interface SurveyCharts {
  /** Moves every chart's cursor to `x` seconds (null hides it). */
  setCursor(x: number | null): void;
  /** Called with the time (s) a chart was clicked at, without dragging. */
  onPick(fn: (x: number) => void): void;
  /** Called with the seconds shown [min, max] after a zoom, pan or reset (to fetch finer data for them). */
  onView(fn: (min: number, max: number) => void): void;
  /** Replaces each chart's data (in the order of the inputs), keeping the view. */
  setData(data: ChartData[]): void;
  destroy(): void;
}

const COLORS = ['#2563eb', '#db2777', '#059669', '#d97706', '#7c3aed', '#0891b2', '#dc2626', '#4d7c0f'];

/** A colour per line index: up/down of one connection stay close, connections and surveys apart. */
export const lineColor = (i: number) => COLORS[i % COLORS.length]!;

/** Shades the loaded spans behind the lines. */
function loadedShading(spans: () => [number, number][]): uPlot.Plugin {
  return {
    hooks: {
      drawClear: (u) => {
        const { ctx } = u;
        ctx.save();
        ctx.fillStyle = 'rgba(217, 119, 6, 0.14)';
        for (const [a, b] of spans()) {
          const x0 = u.valToPos(a, 'x', true);
          const x1 = u.valToPos(b, 'x', true);
          ctx.fillRect(x0, u.bbox.top, Math.max(1, x1 - x0), u.bbox.height);
        }
        ctx.restore();
      },
    },
  };
}

const width = (el: HTMLElement) => Math.max(260, Math.floor(el.getBoundingClientRect().width || 320) - 8);

/** Draws the charts into `root`, with zoom and pan controls above them. */
export function createSurveyCharts(root: HTMLElement, inputs: ChartInput[]): SurveyCharts {
  const pickers: ((x: number) => void)[] = [];
  const viewers: ((min: number, max: number) => void)[] = [];
  const loaded = inputs.map((c) => c.data.loaded);
  const plots: uPlot[] = [];
  const boxes: HTMLElement[] = [];
  let syncing = false;
  const allXs = inputs.flatMap((c) => (c.data.xs.length ? [c.data.xs[0]!, c.data.xs[c.data.xs.length - 1]!] : []));
  const full: [number, number] = allXs.length ? [Math.min(...allXs), Math.max(...allXs, Math.min(...allXs) + 1)] : [0, 1];
  let view: [number, number] = [...full];

  const setView = (min: number, max: number) => {
    const span = max - min;
    const lo = Math.max(full[0], Math.min(min, full[1] - span));
    view = [lo, Math.min(full[1], lo + span)];
    syncing = true;
    for (const p of plots) p.setScale('x', { min: view[0], max: view[1] });
    syncing = false;
    for (const b of boxes) b.dataset.view = `${view[0].toFixed(1)}-${view[1].toFixed(1)}`;
    for (const f of viewers) f(view[0], view[1]);
  };

  const pan = (dir: -1 | 1) => {
    const span = view[1] - view[0];
    setView(view[0] + (dir * span) / 2, view[1] + (dir * span) / 2);
  };
  const controls = h(
    'div',
    { class: 'row chart-controls' },
    h('span', { class: 'muted' }, 'Drag across a chart to zoom; '),
    h('button', { type: 'button', onclick: () => pan(-1), 'aria-label': 'Pan left' }, '← Earlier'),
    h('button', { type: 'button', onclick: () => pan(1), 'aria-label': 'Pan right' }, 'Later →'),
    h('button', { type: 'button', onclick: () => setView(full[0], full[1]) }, 'Show all'),
    h('span', { class: 'legend-loaded' }, 'shaded: under load'),
  );
  root.append(controls);

  for (const [i, c] of inputs.entries()) {
    const box = h('figure', { class: 'chart', 'data-chart': c.id, 'data-points': String(c.data.xs.length) }, h('figcaption', {}, `${c.title} (${c.unit})`));
    root.append(box);
    boxes.push(box);
    const plot = new uPlot(
      {
        width: width(box),
        height: 180,
        scales: { x: { time: false, min: full[0], max: full[1] } },
        axes: [{ label: 's since start' }, { size: 52 }],
        cursor: { drag: { x: true, y: false, setScale: true }, sync: { key: 'survey' } },
        legend: { live: true },
        plugins: [loadedShading(() => loaded[i]!)],
        hooks: {
          setScale: [
            (u, key) => {
              if (key !== 'x' || syncing) return;
              const min = u.scales.x!.min!;
              const max = u.scales.x!.max!;
              if (min !== view[0] || max !== view[1]) setView(min, max);
            },
          ],
          setCursor: [(u) => void (box.dataset.cursor = u.cursor.idx == null ? '' : String(u.data[0][u.cursor.idx]))],
        },
        series: [{}, ...c.lines.map((l) => ({ label: l.label, stroke: l.color, width: 1.5, dash: l.dash, spanGaps: false, points: { show: false } }))],
      },
      [c.data.xs, ...c.data.series.map((s) => s.values)] as uPlot.AlignedData,
      box,
    );
    // A click (not a drag) picks a moment: the video seeks to it.
    plot.over.addEventListener('click', (e) => {
      if (plot.select.width > 2) return;
      const x = plot.posToVal(e.offsetX, 'x');
      box.dataset.picked = x.toFixed(2);
      for (const f of pickers) f(x);
    });
    plots.push(plot);
  }
  const onResize = () => {
    for (let i = 0; i < plots.length; i++) plots[i]!.setSize({ width: width(boxes[i]!), height: 180 });
  };
  addEventListener('resize', onResize);
  return {
    setCursor(x) {
      for (let i = 0; i < plots.length; i++) {
        const p = plots[i]!;
        boxes[i]!.dataset.cursorX = x === null ? '' : x.toFixed(2);
        if (x === null) p.setCursor({ left: -10, top: -10 });
        else p.setCursor({ left: p.valToPos(x, 'x'), top: p.bbox.height / devicePixelRatio / 2 });
      }
    },
    onPick: (fn) => void pickers.push(fn),
    onView: (fn) => void viewers.push(fn),
    setData(data) {
      for (const [i, d] of data.entries()) {
        const plot = plots[i];
        if (!plot) continue;
        loaded[i] = d.loaded;
        boxes[i]!.dataset.points = String(d.xs.length);
        plot.setData([d.xs, ...d.series.map((x) => x.values)] as uPlot.AlignedData, false);
      }
    },
    destroy() {
      removeEventListener('resize', onResize);
      for (const p of plots) p.destroy();
    },
  };
}
