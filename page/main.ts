// The measurement page: key, Start/Stop, status in plain words, countdown, live charts and the summary table.
import { startSurvey, type SurveyEvent, type SurveyHandle } from '../client/survey-client.js';
import { nowMs } from '../shared/time.js';
import { errorText, formatClock } from './messages.js';
import { createHistory, fillRelayWindow, pushTick, type History } from './model.js';
import { workerClock } from './worker-schedule.js';
import { createCharts } from './ui/charts.js';
import { createSummaryTable } from './ui/table.js';
import { hopTable } from './ui/hop-table.js';
import { createFamilyCharts } from './ui/family-charts.js';
import { renderFamilyTables } from './ui/family-tables.js';
import { addLateRelayWindow, addPath, addWindow, createFamilyModel, type FamilyModel } from './family-model.js';
import { browserFamilies, familiesOfChoice } from './family-choice.js';
import { askSensorPermission, startWalkRecording, type WalkRecording } from './recording/walk-recorder.js';
import { createUploadQueue } from './recording/upload-queue.js';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const keyInput = $<HTMLInputElement>('key');
const connections = $<HTMLSelectElement>('connections');
const familyChoice = $<HTMLSelectElement>('family');
const traffic = $<HTMLSelectElement>('traffic');
const startBtn = $<HTMLButtonElement>('start');
const stopBtn = $<HTMLButtonElement>('stop');
const retryBtn = $<HTMLButtonElement>('retry');
const statusEl = $<HTMLParagraphElement>('status');
const throughputEl = $<HTMLParagraphElement>('throughput-status');
const responsivenessPanel = $<HTMLElement>('responsiveness-panel');
const countdownEl = $<HTMLParagraphElement>('countdown');
const sessionEl = $<HTMLParagraphElement>('session');
const pausedEl = $<HTMLParagraphElement>('paused');
const recordVideo = $<HTMLInputElement>('record-video');
const recordSensors = $<HTMLInputElement>('record-sensors');
const recordNote = $<HTMLParagraphElement>('record-note');
const recordNotes = $<HTMLInputElement>('record-notes');
const uploads = createUploadQueue({ panel: $('uploads'), status: $('upload-status'), progress: $<HTMLProgressElement>('upload-progress'), list: $<HTMLUListElement>('unsent') });
let walk: WalkRecording | null = null;

keyInput.value = new URLSearchParams(location.search).get('key') ?? '';
// The key is a credential: once read, keep it out of the address bar, history and shared links.
if (new URLSearchParams(location.search).has('key')) {
  const clean = new URL(location.href);
  clean.searchParams.delete('key');
  window.history.replaceState(window.history.state, '', clean);
}
const charts = createCharts($('charts'));
const renderTable = createSummaryTable($<HTMLTableElement>('summary'));
const familyCharts = createFamilyCharts($('family-charts'), $<HTMLSelectElement>('path-pick'));
let families: FamilyModel = createFamilyModel();
/** What the page redraws, in this order: the summary table, the charts, the by-family tables, the by-family charts. */
const RENDER_PARTS = {
  table: () => renderTable(history),
  charts: () => charts.update(history),
  familyTables: () => {
    $('families').hidden = false;
    renderFamilyTables(families, $<HTMLTableElement>('family-summary'), $<HTMLTableElement>('path-table'), $<HTMLUListElement>('family-unavailable'));
  },
  familyCharts: () => familyCharts.update(families),
};
type RenderPart = keyof typeof RENDER_PARTS;
const dirty = new Set<RenderPart>();
let renderScheduled = false;
/**
 * Marks parts to redraw; they are drawn once per burst of events, each in a task of its own. Probe messages are
 * timestamped on this thread: a second's stats and each connection's late relay window each redrew everything at
 * once, one task of 30–40 ms a second on a 2-core machine, and the page's own down-direction delay variation p99 read
 * it (30–40 ms where the relay's up-direction read 5–6).
 */
function render(...parts: RenderPart[]): void {
  for (const p of parts) dirty.add(p);
  if (renderScheduled) return;
  renderScheduled = true;
  setTimeout(renderNext, 0);
}
function renderNext(): void {
  const next = (Object.keys(RENDER_PARTS) as RenderPart[]).find((p) => dirty.has(p));
  if (!next) {
    renderScheduled = false;
    return;
  }
  dirty.delete(next);
  RENDER_PARTS[next]();
  setTimeout(renderNext, 0);
}
const FAMILY_PARTS: RenderPart[] = ['familyTables', 'familyCharts'];
/** The latest path trace of each connection, shown beside the summary. */
const pathTraces = new Map<string, Extract<SurveyEvent, { type: 'path_trace' }>['trace']>();
$('path-again').addEventListener('click', () => {
  survey?.requestPathTrace();
  $('path-note').textContent = 'Tracing…';
});

let survey: SurveyHandle | null = null;
let history: History = createHistory();
/** Each window index's stats, per connection, until every connection has reported it. */
let pending = new Map<number, Map<string, Extract<SurveyEvent, { type: 'stats' }>>>();
let deadline: number | null = null;
/** Where the tab was hidden, and how much of the schedule the page had missed by then. */
let hiddenSince: { at: number; paused: number } | null = null;
let pausedTotal = 0;
const clock = workerClock();
let countdownTimer: ReturnType<typeof setInterval> | undefined;

function setStatus(text: string, kind: 'idle' | 'busy' | 'ok' | 'error'): void {
  statusEl.textContent = text;
  statusEl.dataset.kind = kind;
}

function setThroughput(text: string, kind: 'idle' | 'busy' | 'error'): void {
  throughputEl.textContent = text;
  throughputEl.dataset.kind = kind;
}

/** Idle and loaded round trips and RPM, as the client computed them from its samples. */
function showResponsiveness(r: Extract<SurveyEvent, { type: 'responsiveness' }>): void {
  const spread = (s: typeof r.idle) => (s ? `${s.p50_ms.toFixed(2)} / ${s.p90_ms.toFixed(2)} ms` : '–');
  const cell = (metric: string) => responsivenessPanel.querySelector<HTMLElement>(`[data-metric="${metric}"]`)!;
  cell('rtt_idle').textContent = spread(r.idle);
  cell('rtt_loaded').textContent = spread(r.loaded);
  cell('rpm').textContent = r.responsiveness_rpm === null ? '–' : `${Math.round(r.responsiveness_rpm)} RPM`;
  responsivenessPanel.hidden = false;
}

function setRunning(running: boolean): void {
  startBtn.disabled = running;
  stopBtn.disabled = !running;
  keyInput.disabled = running;
  connections.disabled = running;
  familyChoice.disabled = running;
  recordVideo.disabled = running;
  recordSensors.disabled = running;
}

/** Ends the walk's recording, if any, and sends what it recorded (and anything older still unsent). */
async function finishWalk(): Promise<void> {
  const w = walk;
  walk = null;
  if (w) await w.stop().catch((e: Error) => (recordNote.textContent = `The recording could not be saved: ${e.message}`));
  await uploads.run();
}

function onEvent(e: SurveyEvent): void {
  switch (e.type) {
    case 'status':
      if (e.status === 'connecting') setStatus('Connecting to the measurement server…', 'busy');
      if (e.status === 'connected') setStatus('Connected; starting the survey…', 'busy');
      if (e.status === 'measuring') setStatus('Measuring — walk the site; press Stop when done.', 'ok');
      if (e.status === 'stopping') setStatus(e.reason === 'time_limit' ? 'This key’s measuring time is used up — stopping and saving the capture…' : 'Stopping and saving the capture…', 'busy');
      break;
    case 'measuring_time':
      deadline = Date.now() + e.max_duration_ms;
      clearInterval(countdownTimer);
      countdownTimer = setInterval(tickCountdown, 1000);
      tickCountdown();
      break;
    case 'stats':
      onStats(e);
      break;
    case 'relay_window':
      if (addLateRelayWindow(families, e.conn_id, e.window_index, e.c2s)) render(...FAMILY_PARTS);
      if (fillRelayWindow(history, e.window_index, e.c2s)) render('table', 'charts');
      break;
    case 'connection':
      addPath(families, e.conn_id, e.family, e.path_index, e.pair);
      break;
    case 'family_unavailable':
      families.unavailable.set(e.family, e.reason);
      render(...FAMILY_PARTS);
      break;
    case 'path_trace_refused':
      $('path-note').textContent = 'The server is tracing already or traced moments ago; try again in a few seconds.';
      break;
    case 'path_trace':
      $('path-note').textContent = '';
      pathTraces.set(e.trace.conn_id, e.trace);
      $('path').hidden = false;
      $('path-tables').replaceChildren(...[...pathTraces.values()].map((t, i) => hopTable(t, `Connection ${i + 1}, ${new Date(t.at_ms).toLocaleTimeString()}`)));
      break;
    case 'error':
      // A throughput test that stalls or fails ends only the test: the survey measures on.
      if (/^throughput_/.test(e.code)) setThroughput(`Throughput test failed: ${e.message}.`, 'error');
      else fail(e.code, e.message);
      break;
    case 'throughput':
      setThroughput(`${e.message[0]!.toUpperCase()}${e.message.slice(1)}.`, e.state === 'done' ? 'idle' : 'busy');
      break;
    case 'responsiveness':
      showResponsiveness(e);
      break;
    case 'stopped':
      finish(`${e.reason === 'time_limit' ? 'Stopped — this key’s measuring time is used up; ' : 'Stopped — '}${e.pcap_available ? 'capture saved.' : 'no capture.'}`);
      break;
  }
}

/** Stats arrive one per connection per window index; a second is complete when every connection has reported its index. */
function onStats(e: Extract<SurveyEvent, { type: 'stats' }>): void {
  addWindow(families, e);
  const second = pending.get(e.window_index) ?? new Map<string, Extract<SurveyEvent, { type: 'stats' }>>();
  pending.set(e.window_index, second.set(e.conn_id, e));
  const expected = survey?.connIds.length ?? Number(connections.value) * familiesOfChoice(familyChoice.value).length;
  if (second.size < expected) return;
  pending.delete(e.window_index);
  const perConn = [...second.values()].map((p) => ({
    c2s: p.c2s,
    s2c: p.s2c,
    c2s_bps: p.throughput?.c2s_bytes_per_s ?? 0,
    s2c_bps: p.throughput?.s2c_bytes_per_s ?? 0,
    paused_ms: p.own_paused_ms,
  }));
  pausedTotal += Math.max(0, ...perConn.map((p) => p.paused_ms));
  pushTick(history, nowMs(), perConn, e.window_index);
  render('table', 'charts', ...FAMILY_PARTS);
}

/** Says in words what happened to the measurement while the tab was hidden. */
function onVisibility(): void {
  if (!survey) return;
  if (document.hidden) {
    hiddenSince = { at: Date.now(), paused: pausedTotal };
    return;
  }
  if (!hiddenSince) return;
  const hiddenS = Math.round((Date.now() - hiddenSince.at) / 1000);
  const pausedS = (pausedTotal - hiddenSince.paused) / 1000;
  pausedEl.textContent =
    pausedS >= 0.05
      ? `Measurement paused while the tab was hidden (${pausedS.toFixed(1)} s of ${hiddenS} s); probes not sent then are not counted as loss.`
      : `The tab was hidden for ${hiddenS} s; measuring went on.`;
  pausedEl.dataset.paused = pausedS >= 0.05 ? 'yes' : 'no';
  hiddenSince = null;
}

function trafficMode(): { download: boolean; upload: boolean } {
  const v = traffic.value;
  return { download: v === 'download' || v === 'both', upload: v === 'upload' || v === 'both' };
}

function tickCountdown(): void {
  if (deadline === null) return;
  countdownEl.textContent = `Time left on this key: ${formatClock(deadline - Date.now())}`;
}

function fail(code: string, message: string): void {
  setStatus(errorText(code, message), 'error');
  retryBtn.hidden = false;
  if (code === 'channel_closed' || code === 'ice_timeout' || survey === null) endUi();
}

function finish(text: string): void {
  setStatus(text, 'idle');
  endUi();
}

function endUi(): void {
  survey = null;
  void finishWalk();
  clearInterval(countdownTimer);
  deadline = null;
  setRunning(false);
}

async function start(): Promise<void> {
  const key = keyInput.value.trim();
  if (!key) {
    fail('auth_required', '');
    return;
  }
  retryBtn.hidden = true;
  history = createHistory();
  families = createFamilyModel();
  // Nothing of the last survey is drawn over this one (a redraw may still be queued).
  dirty.clear();
  familyCharts.reset();
  $('families').hidden = true;
  pathTraces.clear();
  $('path').hidden = true;
  $('path-tables').replaceChildren();
  pending = new Map();
  charts.reset();
  countdownEl.textContent = '';
  pausedEl.textContent = '';
  setThroughput('', 'idle');
  responsivenessPanel.hidden = true;
  pausedTotal = 0;
  hiddenSince = null;
  setRunning(true);
  recordNote.textContent = '';
  // Still inside the click: iOS asks for motion access only from a user gesture.
  if (recordSensors.checked) await askSensorPermission();
  try {
    survey = await startSurvey({
      baseUrl: '',
      magicKey: key,
      paths: Number(connections.value),
      families: familiesOfChoice(familyChoice.value),
      RTCPeerConnection,
      every: clock,
      onEvent,
    });
    sessionEl.textContent = `Survey ${survey.surveySessionId}`;
    survey.setTraffic(trafficMode());
    if (recordVideo.checked || recordSensors.checked) {
      walk = await startWalkRecording({
        surveyId: survey.surveySessionId,
        magicKey: key,
        video: recordVideo.checked,
        sensors: recordSensors.checked,
        notes: recordNotes.value.trim().slice(0, 2000),
        onNote: (t) => (recordNote.textContent = t),
      });
    }
  } catch {
    // onEvent already showed the error in words.
    endUi();
  }
}

startBtn.addEventListener('click', () => void start());
retryBtn.addEventListener('click', () => void start());
stopBtn.addEventListener('click', () => {
  stopBtn.disabled = true;
  void survey?.stop();
});
traffic.addEventListener('change', () => survey?.setTraffic(trafficMode()));
document.addEventListener('visibilitychange', onVisibility);
window.addEventListener('pagehide', () => survey?.close());
// Both families by default where this browser has both; else the one it has (a survey reports a missing one anyway).
void browserFamilies(RTCPeerConnection, location.hostname).then((have) => {
  if (have?.size === 1 && !familyChoice.disabled) familyChoice.value = [...have][0]!;
});
setStatus(keyInput.value ? 'Ready: press Start to measure.' : 'Enter your magic key, then press Start.', 'idle');
// Recordings a closed tab, a crash or a lost network left behind are sent now.
void uploads.run();
