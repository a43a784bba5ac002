// /console/surveys/{id}: one survey — summary per connection and direction, time-series charts (zoom, pan,
// loaded periods shaded, gaps as gaps), the walk's video and GPS track in step with the charts, downloads
// (metrics, captures, recordings), and delete / restore / purge.
import { api, errorWords } from '../api.js';
import { busy, h, say } from '../dom.js';
import { duration, when } from '../format.js';
import { navigate } from '../navigate.js';
import type { MeView } from '../schemas.js';
import { drawTrack, parseFixes, type TrackMetric } from './gps-track.js';
import { chartData, METRICS, seriesKeys, type MetricRow, type SeriesKey } from './metric-series.js';
import { createPlayback } from './playback.js';
import { createSurveyCharts, lineColor, type SurveyCharts } from './survey-charts.js';
import { SeriesSchema, SurveyDetailSchema, type Series, type SurveyDetail } from './survey-schemas.js';
import { summaryTable } from './survey-summary-table.js';
import { pathTraceSection } from './path-trace-section.js';
import { familyPathSection } from './family-path-section.js';

const dirWord = (d: SeriesKey['direction']) => (d === 'c2s' ? 'up' : 'down');
const path = (id: string) => `/api/surveys/${encodeURIComponent(id)}`;

/** Draws survey `id` into `root`; returns a function that releases what it holds (charts, video). */
export function surveyDetailView(root: HTMLElement, me: MeView, id: string): () => void {
  const status = h('p', { id: 'survey-status', class: 'status', role: 'status', 'aria-live': 'polite' }, 'Loading the survey…');
  root.replaceChildren(h('section', { class: 'panel' }, h('h2', {}, `Survey ${id}`), status));
  let charts: SurveyCharts | null = null;
  let disposed = false;
  void (async () => {
    let detail: SurveyDetail;
    let series: Series;
    try {
      detail = await api('GET', `${path(id)}?deleted=all`, SurveyDetailSchema);
      // Downsampled on the edge to ≤ 2,000 points a series, however long the survey.
      series = await api('GET', `${path(id)}/series?deleted=all`, SeriesSchema);
    } catch (err) {
      say(status, errorWords(err), 'error');
      return;
    }
    if (disposed) return;
    say(status, detail.deleted ? 'This survey is deleted: it is left out of lists and exports until restored.' : '');
    const chartRoot = h('section', { id: 'survey-charts', class: 'charts', 'aria-label': 'Charts' });
    const media = h('section', { id: 'survey-media', class: 'media', 'aria-label': 'Recording of the walk' });
    root.replaceChildren(
      h(
        'section',
        { class: 'panel', 'aria-label': 'Survey' },
        h('h2', {}, `Survey of ${when(detail.start_time)}`),
        h(
          'p',
          { class: 'muted' },
          `Key ${detail.key_label ?? '—'} · technician ${detail.user_login ?? '— (magic key only)'} · ${duration(detail.duration_ms)} · ${detail.connections} connection(s) · ${detail.metric_rows} rows${detail.end_reason ? ` · ended: ${detail.end_reason}` : ''}`,
        ),
        actions(detail, me, status),
        status,
      ),
      h('section', { class: 'panel', 'aria-label': 'Summary' }, h('h2', {}, 'Summary'), h('div', { class: 'scroll summaries' }, ...detail.summaries.map((c) => summaryTable(c.conn_id, c.c2s, c.s2c)))),
      ...[familyPathSection(detail), pathTraceSection(detail.path_traces ?? [])].filter((x) => x !== null),
      media,
      chartRoot,
    );
    const rows = series.rows;
    const keys = seriesKeys(rows);
    charts = createSurveyCharts(
      chartRoot,
      METRICS.map((m) => ({
        id: m.id,
        title: m.title,
        unit: m.unit,
        data: chartData(rows, m, detail.start_time, keys, series.bucket_ms / 1000),
        lines: keys.map((k, i) => ({ label: `${keys.length > 2 ? `${k.conn_id.slice(0, 6)} ` : ''}${dirWord(k.direction)}`, color: lineColor(i) })),
      })),
    );
    // A zoom, pan or reset asks the edge for the shown range alone, so a zoomed view gets finer buckets; a late answer
    // to an older view is dropped.
    let asked = 0;
    charts.onView((min, max) => {
      const mine = ++asked;
      const q = `from=${Math.max(0, Math.floor(detail.start_time + min * 1000))}&to=${Math.ceil(detail.start_time + max * 1000)}`;
      void api('GET', `${path(id)}/series?deleted=all&${q}`, SeriesSchema)
        .then((zoomed) => {
          if (mine !== asked || disposed) return;
          charts?.setData(METRICS.map((m) => chartData(zoomed.rows, m, detail.start_time, keys, zoomed.bucket_ms / 1000)));
          chartRoot.dataset.bucketMs = String(zoomed.bucket_ms);
        })
        .catch((err: unknown) => say(status, errorWords(err), 'error'));
    });
    chartRoot.dataset.bucketMs = String(series.bucket_ms);
    await showRecordings(media, detail, rows, charts);
  })();
  return () => {
    disposed = true;
    charts?.destroy();
    root.querySelector('video')?.pause();
  };
}

function actions(d: SurveyDetail, me: MeView, status: HTMLElement): HTMLElement {
  const links = [
    h('a', { class: 'button', href: `${path(d.session_id)}/metrics?format=csv&deleted=all`, download: '', 'data-testid': 'export-csv' }, 'Metrics (CSV)'),
    h('a', { class: 'button', href: `${path(d.session_id)}/metrics?format=json&deleted=all`, download: `netpoke-${d.session_id}-metrics.json` }, 'Metrics (JSON)'),
    ...(d.path_traces?.length ? [h('a', { class: 'button', href: `${path(d.session_id)}/path-traces?format=csv&deleted=all`, download: '', 'data-testid': 'export-path-traces' }, 'Path traces (CSV)')] : []),
    ...d.captures.map((c) => h('a', { class: 'button', href: `${path(d.session_id)}/captures/${encodeURIComponent(c.conn_id)}?peer_id=${encodeURIComponent(c.peer_id)}`, download: '', 'data-capture': c.conn_id }, `Capture ${c.conn_id.slice(0, 8)} (pcapng)`)),
  ];
  const remove = h('button', { type: 'button', id: d.deleted ? 'restore-survey' : 'delete-survey' }, d.deleted ? 'Restore' : 'Delete');
  remove.addEventListener('click', () =>
    void busy(remove, async () => {
      try {
        if (d.deleted) await api('POST', `${path(d.session_id)}/restore`, null);
        else await api('DELETE', path(d.session_id), null);
        navigate(location.pathname, true);
      } catch (err) {
        say(status, errorWords(err), 'error');
      }
    }),
  );
  const purge = h('button', { type: 'button', id: 'purge-survey', class: 'danger' }, 'Purge for good…');
  let armed = false;
  purge.addEventListener('click', () =>
    void busy(purge, async () => {
      if (!armed) {
        armed = true;
        purge.textContent = 'Click again to remove every row and file of this survey for good';
        return;
      }
      try {
        await api('DELETE', `${path(d.session_id)}?purge=true`, null);
        navigate('/console');
      } catch (err) {
        say(status, errorWords(err), 'error');
      }
    }),
  );
  return h('div', { class: 'row buttons' }, ...links, remove, me.role === 'admin' ? purge : null);
}

/** The walk's video and track, if the survey has them, wired to the charts' cursor. */
async function showRecordings(media: HTMLElement, d: SurveyDetail, rows: MetricRow[], charts: SurveyCharts): Promise<void> {
  const video = d.recordings.find((r) => r.kind === 'video');
  const sensors = d.recordings.find((r) => r.kind === 'sensors');
  if (!video && !sensors) {
    media.hidden = true;
    return;
  }
  const parts: HTMLElement[] = [h('h2', {}, 'Walk')];
  const notes = [...new Set(d.recordings.map((r) => r.notes).filter((n): n is string => !!n))];
  if (notes.length) parts.push(h('p', { id: 'walk-notes' }, `Technician's notes: ${notes.join(' · ')}`));
  const toX = (atMs: number) => (atMs - d.start_time) / 1000;
  let track: ReturnType<typeof drawTrack> | null = null;
  const trackBox = h('div', { class: 'track-box', id: 'track' });
  const playback = video
    ? createPlayback(video, (atMs) => {
        charts.setCursor(toX(atMs));
        track?.setTime(atMs);
      })
    : null;
  if (playback) {
    parts.push(playback.element);
    charts.onPick((x) => playback.seekTo(d.start_time + x * 1000));
  }
  if (sensors) {
    const metric = h('select', { id: 'track-metric' }, h('option', { value: 'loss' }, 'Loss'), h('option', { value: 'rtt' }, 'RTT'), h('option', { value: 'delay' }, 'Delay variation p99'));
    const direction = h('select', { id: 'track-direction' }, h('option', { value: 's2c' }, 'down'), h('option', { value: 'c2s' }, 'up'));
    const note = h('p', { class: 'muted' });
    let fixes: ReturnType<typeof parseFixes> = [];
    const draw = () => {
      track = drawTrack(fixes, rows, metric.value as TrackMetric, direction.value as 'c2s' | 's2c');
      trackBox.replaceChildren(track.svg);
      note.textContent = fixes.length ? `${fixes.length} position${fixes.length === 1 ? '' : 's'}; green is the best of this walk, red the worst, grey without a number.` : 'The sensor log has no positions (location was not available).';
    };
    metric.addEventListener('change', draw);
    direction.addEventListener('change', draw);
    parts.push(h('div', { class: 'row' }, h('label', {}, 'Colour the track by ', metric), h('label', {}, ' direction ', direction)), trackBox, note);
    try {
      const resp = await fetch(`/api/recordings/${sensors.recording_id}/content`, { credentials: 'same-origin' });
      fixes = parseFixes(resp.ok ? await resp.text() : '');
    } catch {
      fixes = [];
    }
    draw();
  }
  parts.push(
    h(
      'div',
      { class: 'row buttons' },
      ...d.recordings.map((r) => h('a', { class: 'button', href: `/api/recordings/${r.recording_id}/content?download`, download: '' }, r.kind === 'video' ? 'Download video' : 'Download sensor log')),
    ),
  );
  media.classList.add('panel');
  media.replaceChildren(...parts);
}
