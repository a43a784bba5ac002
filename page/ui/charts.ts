import uPlot from 'uplot';
import type { History, Second } from '../model.js';

interface ChartSpec {
  id: string;
  title: string;
  unit: string;
  series: { label: string; color: string; read: (s: Second) => number | null | undefined; dash?: number[] }[];
}

const UP = '#2563eb';
const DOWN = '#db2777';
/** Seconds the throughput test's load connection carried traffic in are shaded on every chart. */
const LOADED_SHADE = 'rgba(245, 158, 11, 0.18)';

/** Whether a second was loaded (either side's window says so). */
const isLoaded = (s: Second) => s.s2c.loaded === true || s.c2s?.loaded === true;

/** A uPlot hook that shades the loaded seconds behind the series (each second spans half a step either side of its x). */
function shadeLoaded(loaded: () => boolean[]): uPlot.Plugin {
  return {
    hooks: {
      drawAxes: [
        (u: uPlot) => {
          const xs = u.data[0];
          const flags = loaded();
          const { top, height } = u.bbox;
          u.ctx.save();
          u.ctx.fillStyle = LOADED_SHADE;
          for (let i = 0; i < xs.length; i++) {
            if (!flags[i]) continue;
            const left = u.valToPos(xs[i]! - 0.5, 'x', true);
            const right = u.valToPos(xs[i]! + 0.5, 'x', true);
            u.ctx.fillRect(left, top, right - left, height);
          }
          u.ctx.restore();
        },
      ],
    },
  };
}

const SPECS: ChartSpec[] = [
  {
    id: 'delay',
    title: 'Delay variation',
    unit: 'ms',
    series: [
      { label: 'up p50', color: UP, read: (s) => s.c2s?.delay_deviation_ms?.[0] },
      { label: 'up p99', color: UP, read: (s) => s.c2s?.delay_deviation_ms?.[1], dash: [4, 4] },
      { label: 'down p50', color: DOWN, read: (s) => s.s2c.delay_deviation_ms?.[0] },
      { label: 'down p99', color: DOWN, read: (s) => s.s2c.delay_deviation_ms?.[1], dash: [4, 4] },
    ],
  },
  {
    id: 'rtt',
    title: 'Round-trip time',
    unit: 'ms',
    series: [
      { label: 'p50', color: '#059669', read: (s) => s.s2c.rtt_ms[0] || s.c2s?.rtt_ms[0] },
      { label: 'p99', color: '#059669', read: (s) => Math.max(s.s2c.rtt_ms[1], s.c2s?.rtt_ms[1] ?? 0), dash: [4, 4] },
    ],
  },
  {
    id: 'jitter',
    title: 'Jitter p50',
    unit: 'ms',
    series: [
      { label: 'up', color: UP, read: (s) => s.c2s?.jitter_ms[0] },
      { label: 'down', color: DOWN, read: (s) => s.s2c.jitter_ms[0] },
    ],
  },
  {
    id: 'loss',
    title: 'Loss',
    unit: '%',
    series: [
      { label: 'up', color: UP, read: (s) => s.c2s?.loss_rate },
      { label: 'down', color: DOWN, read: (s) => s.s2c.loss_rate },
    ],
  },
  {
    id: 'reorder',
    title: 'Reordering',
    unit: '%',
    series: [
      { label: 'up', color: UP, read: (s) => s.c2s?.reorder_rate },
      { label: 'down', color: DOWN, read: (s) => s.s2c.reorder_rate },
    ],
  },
  {
    id: 'throughput',
    title: 'Throughput',
    unit: 'Mbit/s',
    series: [
      { label: 'up', color: UP, read: (s) => (s.c2s_bps * 8) / 1e6 },
      { label: 'down', color: DOWN, read: (s) => (s.s2c_bps * 8) / 1e6 },
    ],
  },
];

export interface Charts {
  update(h: History): void;
  /** Data points shown per chart (tests read it through `data-points`). */
  reset(): void;
}

/** Creates the live charts inside `root`; update() redraws them from the history. */
export function createCharts(root: HTMLElement): Charts {
  let loaded: boolean[] = [];
  const plots = SPECS.map((spec) => {
    const box = chartFigure(root, spec.id, `${spec.title} (${spec.unit})`);
    const plot = new uPlot(
      {
        width: chartWidth(box),
        height: 160,
        legend: { live: false },
        cursor: { show: false },
        scales: { x: { time: false } },
        axes: [{ label: 's' }, { size: 50 }],
        series: [{}, ...spec.series.map((s) => ({ label: s.label, stroke: s.color, width: 1.5, dash: s.dash, points: { show: false } }))],
        plugins: [shadeLoaded(() => loaded)],
      },
      [[], ...spec.series.map(() => [])],
      box,
    );
    return { spec, plot, box };
  });
  const resize = () => {
    for (const p of plots) p.plot.setSize({ width: chartWidth(p.box), height: 160 });
  };
  window.addEventListener('resize', resize);
  return {
    update(h) {
      const t0 = h.seconds[0]?.at_ms ?? 0;
      const xs = h.seconds.map((s) => Math.round((s.at_ms - t0) / 1000));
      loaded = h.seconds.map(isLoaded);
      const loadedCount = String(loaded.filter(Boolean).length);
      for (const p of plots) {
        p.plot.setData([xs, ...p.spec.series.map((s) => h.seconds.map((sec) => s.read(sec) ?? null))]);
        p.box.dataset.points = String(xs.length);
        p.box.dataset.loaded = loadedCount;
      }
    },
    reset() {
      loaded = [];
      for (const p of plots) {
        p.plot.setData([[], ...p.spec.series.map(() => [])]);
        p.box.dataset.points = '0';
        p.box.dataset.loaded = '0';
      }
    },
  };
}

function chartWidth(box: HTMLElement): number {
  return Math.max(260, Math.floor(box.getBoundingClientRect().width || 320) - 8);
}

/** A chart's figure with its caption, appended to `root`; `data-points` counts what it has drawn (the tests read it). */
export function chartFigure(root: HTMLElement, id: string, caption: string): HTMLElement {
  const box = document.createElement('figure');
  box.className = 'chart';
  box.dataset.chart = id;
  box.dataset.points = '0';
  const title = document.createElement('figcaption');
  title.textContent = caption;
  box.append(title);
  root.append(box);
  return box;
}
