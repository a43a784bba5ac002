// Charts with one line per address family (issue 22), its paths summed by counts per second, or one chosen path.
import uPlot from 'uplot';
import type { IpFamily } from '../../shared/ip-family.js';
import type { DirectionStats } from '../../shared/stats/index.js';
import { familySeries, type FamilyModel, type Figures } from '../family-model.js';
import { chartFigure } from './charts.js';
import { familyName } from './family-tables.js';

const FAMILIES: IpFamily[] = ['ipv4', 'ipv6'];
const COLOR: Record<IpFamily, string> = { ipv4: '#2563eb', ipv6: '#ea580c' };

interface Spec {
  id: string;
  title: string;
  /** Each family gets one line per direction listed (down dashed when both are). */
  dirs: ('c2s' | 's2c')[];
  read: (d: DirectionStats) => number | null;
}

const SPECS: Spec[] = [
  // The page's own probes' round trips (what the client measures from the relay's echoes).
  { id: 'family-rtt', title: 'RTT p50 by family (ms)', dirs: ['s2c'], read: (d) => (d.rtt_ms[3] > 0 ? d.rtt_ms[0] : null) },
  { id: 'family-loss', title: 'Loss by family (%; down dashed)', dirs: ['c2s', 's2c'], read: (d) => d.loss_rate },
  { id: 'family-dv', title: 'Delay variation p99 by family (ms; down dashed)', dirs: ['c2s', 's2c'], read: (d) => (d.probe_count > 0 ? d.jitter_ms[1] : null) },
];

export interface FamilyCharts {
  update(m: FamilyModel): void;
  reset(): void;
}

/** Creates the by-family charts and the path picker inside `root`; update() redraws them from the model. */
export function createFamilyCharts(root: HTMLElement, picker: HTMLSelectElement): FamilyCharts {
  let last: FamilyModel | null = null;
  const plots = SPECS.map((spec) => {
    const box = chartFigure(root, spec.id, spec.title);
    const lines = FAMILIES.flatMap((family) => spec.dirs.map((dir) => ({ family, dir })));
    const plot = new uPlot(
      {
        width: 260,
        height: 160,
        legend: { live: false },
        cursor: { show: false },
        scales: { x: { time: false } },
        axes: [{ label: 's' }, { size: 50 }],
        series: [
          {},
          ...lines.map((l) => ({
            label: `${familyName(l.family)}${spec.dirs.length > 1 ? (l.dir === 'c2s' ? ' up' : ' down') : ''}`,
            stroke: COLOR[l.family],
            width: 1.5,
            ...(l.dir === 's2c' && spec.dirs.length > 1 ? { dash: [4, 4] } : {}),
            points: { show: false },
          })),
        ],
      },
      [[], ...lines.map(() => [])],
      box,
    );
    return { spec, plot, box, lines };
  });
  const draw = (m: FamilyModel) => {
    const pathIndex = picker.value === 'all' ? undefined : Number(picker.value);
    const series = new Map(FAMILIES.map((f) => [f, new Map(familySeries(m, f, pathIndex).map((s) => [s.index, s.f]))]));
    const xs = [...new Set([...series.values()].flatMap((s) => [...s.keys()]))].sort((a, b) => a - b);
    for (const p of plots) {
      // Made while the section was hidden (no width): sized once it shows.
      const width = Math.max(260, Math.floor(p.box.getBoundingClientRect().width || 320) - 8);
      if (width !== p.plot.width) p.plot.setSize({ width, height: 160 });
      const read = (f: Figures | undefined, dir: 'c2s' | 's2c') => (f ? p.spec.read(f[dir]) : null);
      p.plot.setData([xs, ...p.lines.map((l) => xs.map((x) => read(series.get(l.family)!.get(x), l.dir)))]);
      p.box.dataset.points = String(xs.length);
    }
  };
  picker.addEventListener('change', () => last && draw(last));
  return {
    update(m) {
      last = m;
      // The picker offers every path index some family has: "path 2" shows each family's second path.
      const most = Math.max(0, ...[...m.paths.values()].map((p) => p.path_index + 1));
      if (picker.options.length !== most + 1) {
        const keep = picker.value;
        picker.replaceChildren(new Option('all paths', 'all'), ...Array.from({ length: most }, (_, i) => new Option(`path ${i + 1}`, String(i))));
        picker.value = [...picker.options].some((o) => o.value === keep) ? keep : 'all';
      }
      draw(m);
    },
    reset() {
      last = null;
      picker.replaceChildren(new Option('all paths', 'all'));
      for (const p of plots) {
        p.plot.setData([[], ...p.lines.map(() => [])]);
        p.box.dataset.points = '0';
      }
    },
  };
}
