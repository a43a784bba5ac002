import { createProbeEndpoint, type ProbeEndpoint } from '../shared/probe/endpoint.js';
import { waitFinalWindow, type FinalWindow } from '../shared/probe/final-window.js';
import type { Schedule, ScheduleHandle } from '../shared/probe/tick-group.js';
import { startTicker } from '../shared/probe/ticker.js';
import { parseControlMessage, type ControlMessage, type ControlOf } from '../shared/protocol/control.js';
import type { Throughput } from '../shared/protocol/stats.js';
import { MAX_THROUGHPUT_MS, type ThroughputDirection } from '../shared/protocol/control.js';
import { loadWindow } from '../shared/load-window.js';
import { responsiveness, type Responsiveness } from '../shared/stats/responsiveness.js';
import { emptyDirectionStats, type DirectionStats } from '../shared/stats/direction-stats.js';
import { nowMs } from '../shared/time.js';
import { startBulkUpload, type BulkUpload } from './bulk-upload.js';
import { openConnection, openLoadConnection, type ConnectOptions, type Connection, type LoadConnection, type SelectedPair } from './connection.js';
import type { IpFamily } from '../shared/ip-family.js';
import { MAX_PATHS_PER_FAMILY } from '../shared/protocol/signaling.js';
import { edgeSignal, SurveyError, type Signal } from './signaling.js';
import { createWindowPairing, type Paired, type WindowPairing } from './window-pairing.js';

export { SurveyError } from './signaling.js';

export interface SurveyClientOptions {
  /** Edge origin; '' means the page's own origin. */
  baseUrl: string;
  magicKey: string;
  /** Parallel peer connections sharing one survey_session_id (multi-path mode); `paths` wins. */
  connections?: number;
  /** Connections per address family, 1..16 (issue 22: several 5-tuples take several ECMP paths). */
  paths?: number;
  /**
   * Address families to measure side by side, each over `paths` connections held to it (issue 22). Absent: as
   * before, `paths` connections on whatever family ICE picks. A family that cannot connect is reported
   * (`family_unavailable`) and the survey goes on with the others.
   */
  families?: IpFamily[];
  RTCPeerConnection: typeof RTCPeerConnection;
  fetch?: typeof fetch;
  /** Replaces the edge signaling (tests that talk straight to a relay). */
  signal?: Signal;
  /** Rewrites the relay's answer for a throughput test's load connection (the accuracy harness routes it through its forwarder). */
  loadAnswer?: (sdp: string) => string;
  /** STUN/TURN servers to gather with (by default the edge's `GET /api/ice-servers`). */
  iceServers?: RTCIceServer[];
  /** 'relay': connect through TURN only. */
  iceTransportPolicy?: RTCIceTransportPolicy;
  iceTimeoutMs?: number;
  /** How long an answer may take to connect before the client tries another relay (default DEFAULT_CONNECT_TIMEOUT_MS, 1.5 s). */
  connectTimeoutMs?: number;
  /**
   * Where the client's timers come from (default: setTimeout). The page passes
   * one driven from a worker, so probing goes on in a background tab.
   */
  every?: (intervalMs: number) => Schedule;
  /**
   * Sends start_probe_streams this long after this client's own probes begin (the accuracy harness: a start
   * that reaches the relay late, as after an SCTP retransmission, while the client already probes). Default 0.
   */
  startStreamsDelayMs?: number;
  onEvent?: (e: SurveyEvent) => void;
}

export type SurveyStatus = 'connecting' | 'connected' | 'measuring' | 'stopping' | 'stopped' | 'error';

/** Why a survey stopped: the user's Stop, the key's measuring time running out, or the connection going away. */
export type StopReason = 'explicit' | 'time_limit' | 'closed';

export type SurveyEvent =
  /** `reason` comes with 'stopping': who started the stop. */
  | { type: 'status'; status: SurveyStatus; reason?: Exclude<StopReason, 'closed'> }
  | { type: 'error'; code: string; message: string }
  | { type: 'measuring_time'; max_duration_ms: number }
  /** A family the survey asked for could not connect (no address of it, or its ICE failed): left out, with why. */
  | { type: 'family_unavailable'; family: IpFamily; code: string; reason: string }
  /** A connection is up: its family, path and the address pair it ended on. */
  | { type: 'connection'; conn_id: string; family: IpFamily | null; path_index: number; pair: SelectedPair | null }
  /** The relay's trace of the path toward this client (hops, path MTU), or why it has none. */
  | { type: 'path_trace'; trace: ControlOf<'path_trace'> }
  /** The relay refused a request for a trace (one running, asked too soon, or it traces no paths): not a survey error. */
  | { type: 'path_trace_refused'; message: string }
  | {
      type: 'stats';
      conn_id: string;
      /** The connection's family (when the survey held it to one) and its path within it. */
      family?: IpFamily;
      path_index?: number;
      timestamp_ms: number;
      /** This client's window index: the second of the connection's streams this event is (0, 1, 2…). */
      window_index: number;
      /**
       * The relay's window of the same index (paired by index, never by
       * arrival); null when it did not come within a second of ours, with the
       * reason in `c2s_missing`. If it comes later, a `relay_window` event
       * brings it for this index.
       */
      c2s: DirectionStats | null;
      c2s_missing?: string;
      /** What this client measured of the relay's probes in its last window. */
      s2c: DirectionStats;
      throughput?: Throughput;
      /** Time this client could not keep its own probe schedule in the window (a background tab, a stall). */
      own_paused_ms: number;
      /** The last window of the survey (after Stop). */
      final?: boolean;
    }
  /** A relay window whose second already went out without it (late), or that has no client window (the relay's streams ran longer): it belongs to `window_index`. */
  | { type: 'relay_window'; conn_id: string; family?: IpFamily; path_index?: number; window_index: number; c2s: DirectionStats }
  | { type: 'stopped'; pcap_available: boolean; reason: StopReason }
  /** The throughput test's phases, each with what to show in words; its failures come as `error` events (throughput_stalled, throughput_failed). */
  | { type: 'throughput'; state: 'baseline' | 'running' | 'done'; direction: ThroughputDirection; message: string }
  /** Idle and loaded round trips and RPM so far, after each window once a throughput test has carried load. */
  | ({ type: 'responsiveness' } & Responsiveness);

export interface TrafficMode {
  /** The relay sends bulk data (download). */
  download: boolean;
  /** This client sends bulk data (upload). */
  upload: boolean;
}

export interface SurveyHandle {
  readonly surveySessionId: string;
  readonly connIds: string[];
  /** Each connection's family, path and selected address pair, in conn_ids order. */
  readonly paths: { conn_id: string; family: IpFamily | null; path_index: number; pair: SelectedPair | null }[];
  /** Families asked for that could not connect, with why. */
  readonly unavailable: { family: IpFamily; code: string; reason: string }[];
  /** Server traffic only (download); kept for callers that know no upload. */
  setServerTraffic(on: boolean): void;
  /**
   * Throughput test: download, upload, or both at once, on a load connection
   * of its own, after at least BASELINE_WINDOWS unloaded seconds; it runs for
   * `durationMs` (default: the measuring time left) or until switched off.
   */
  setTraffic(mode: TrafficMode, durationMs?: number): void;
  /** Idle and loaded round trips of this client's probes and the RPM from them, so far. */
  responsiveness(): Responsiveness;
  /**
   * Explicit stop: stops the streams, waits for both sides' last windows, asks the relay to save the capture,
   * closes. After the key's measuring time ran out the client runs the same stop by itself; this then
   * answers with its outcome.
   */
  stop(): Promise<{ pcap_available: boolean }>;
  /** Abrupt end, like closing the tab: no capture is saved. */
  close(): void;
  /** Asks the relay for a path trace of every connection now (it limits how often; a refusal comes as `path_trace_refused`). */
  requestPathTrace(): void;
}

/** One connection's live state. */
interface Leg {
  conn: Connection;
  endpoint: ProbeEndpoint;
  /** This client's windows and the relay's, paired by index. */
  pairing: WindowPairing<OwnWindow, DirectionStats>;
  /** Relay windows received: the index of an older relay's windows, which carry none. */
  relayWindowCount: number;
  relayThroughput: Throughput | undefined;
  s2cBytes: number;
  c2sBytes: number;
  upload: BulkUpload | null;
  downloading: boolean;
  /** The throughput test's load connection while it runs, and what it tests. */
  load: { conn: LoadConnection; direction: ThroughputDirection; zeroWindows: number; dropped: boolean; timer: ReturnType<typeof setTimeout> } | null;
  /** Bumped by each start or stop of a test: an older start that finishes late changes nothing. */
  loadGeneration: number;
  /** The load connection being set up: a new one waits for it, since replies are matched by type, not by request. */
  loadOpening: Promise<unknown>;
  /** Unloaded windows closed so far, and who waits for enough of them. */
  idleWindows: number;
  baselineWaiters: (() => void)[];
  /** RTT samples of the window being measured. */
  windowRtts: number[];
  windowOpenedAt: number;
  /** RTT p50 of the last window: the round trip the paced upload sizes its queue by. */
  rttP50Ms: number;
  pausedReported: number;
  waiters: Map<string, (m: ControlMessage) => void>;
  /** When the relay's last sender_report (its streams stopped) arrived, null before. */
  relayStoppedAt: number | null;
  /** This client's last window of the relay's probes, waiting for that report (after the stop). */
  finalWindow: FinalWindow | null;
}

/** One closed window of this client, waiting for the relay's of the same index. */
interface OwnWindow {
  timestamp: number;
  s2c: DirectionStats;
  throughput: Throughput;
  paused: number;
}

const CONTROL_REPLY_TIMEOUT_MS = 10_000;
/** Unloaded seconds measured before a throughput test starts, so deviation and RTT under load have an idle baseline. */
export const BASELINE_WINDOWS = 3;
/** Seconds in a row in which a running test moved nothing: the transfer stalled. */
const STALL_WINDOWS = 3;
/** RTT samples kept for the responsiveness, each of idle and loaded (about 10 min of probes). */
const MAX_RTT_SAMPLES = 60_000;

/** Connects, starts a survey on every connection and begins probing; resolves once measuring. */
export async function startSurvey(opts: SurveyClientOptions): Promise<SurveyHandle> {
  const emit = opts.onEvent ?? (() => {});
  const count = Math.min(MAX_PATHS_PER_FAMILY, Math.max(1, Math.floor(opts.paths ?? opts.connections ?? 1)));
  const surveySessionId = crypto.randomUUID();
  const signal = opts.signal ?? edgeSignal(opts.baseUrl, opts.magicKey, opts.fetch ?? fetch.bind(globalThis));
  const every = opts.every ?? ((intervalMs: number): Schedule => (tick) => startTicker(intervalMs, tick));
  let finished = false;
  let ticker: ScheduleHandle | null = null;
  let measuringLeftMs = MAX_THROUGHPUT_MS;
  let measuringSince = 0;
  const idleRtts: number[] = [];
  const loadedRtts: number[] = [];
  /** The stop under way or done, whoever started it. */
  let stopping: Promise<{ pcap_available: boolean }> | null = null;

  /** Ends the survey once: stops every timer, probe stream and upload, closes every peer; false if it had already ended. */
  const finish = (): boolean => {
    if (finished) return false;
    finished = true;
    ticker?.stop();
    for (const l of legs) {
      l.endpoint.stop();
      stopLoad(l);
      l.conn.close();
    }
    return true;
  };

  const fail = (code: string, message: string) => {
    if (!finish()) return;
    emit({ type: 'error', code, message });
    emit({ type: 'status', status: 'error' });
  };

  emit({ type: 'status', status: 'connecting' });
  const legs: Leg[] = [];
  const unavailable: { family: IpFamily; code: string; reason: string }[] = [];
  const connectOptions = (slot: Slot): ConnectOptions => ({
    RTCPeerConnection: opts.RTCPeerConnection,
    signal,
    connId: crypto.randomUUID(),
    iceTimeoutMs: opts.iceTimeoutMs ?? 10_000,
    pathIndex: slot.pathIndex,
    ...(slot.family ? { family: slot.family } : {}),
    ...(opts.connectTimeoutMs !== undefined ? { connectTimeoutMs: opts.connectTimeoutMs } : {}),
    ...(opts.iceServers ? { iceServers: opts.iceServers } : {}),
    ...(opts.iceTransportPolicy ? { iceTransportPolicy: opts.iceTransportPolicy } : {}),
  });
  try {
    if (!opts.families) {
      const conns = await Promise.all(surveySlots(undefined, count).map((slot) => openConnection(connectOptions(slot))));
      for (const conn of conns) legs.push(wireLeg(conn));
    } else {
      const opened = await openFamilies(opts.families, count, (slot, planned) => openConnection({ ...connectOptions(slot), ...(planned ? { plannedConnections: planned } : {}) }));
      unavailable.push(...opened.unavailable);
      for (const u of opened.unavailable) emit({ type: 'family_unavailable', ...u });
      for (const conn of opened.conns) legs.push(wireLeg(conn));
    }
  } catch (e) {
    for (const l of legs) l.conn.close();
    const err = e instanceof SurveyError ? e : new SurveyError('network_error', String((e as Error)?.message ?? e));
    emit({ type: 'error', code: err.code, message: err.message });
    emit({ type: 'status', status: 'error' });
    throw err;
  }
  for (const l of legs) emit({ type: 'connection', ...pathOf(l.conn) });
  emit({ type: 'status', status: 'connected' });

  function wireLeg(conn: Connection): Leg {
    const leg: Leg = {
      conn,
      endpoint: createProbeEndpoint({
        sendDirection: 'c2s',
        connId: conn.connId,
        schedule: every(10),
        onRtt: (ms) => leg.windowRtts.push(ms),
        queued: () => conn.channels.probe.bufferedAmount,
        send: (text) => {
          if (conn.channels.probe.readyState !== 'open') return false;
          conn.channels.probe.send(text);
          return true;
        },
      }),
      pairing: createWindowPairing(),
      relayWindowCount: 0,
      relayThroughput: undefined,
      s2cBytes: 0,
      c2sBytes: 0,
      upload: null,
      downloading: false,
      load: null,
      loadGeneration: 0,
      loadOpening: Promise.resolve(),
      idleWindows: 0,
      baselineWaiters: [],
      windowRtts: [],
      windowOpenedAt: 0,
      rttP50Ms: 0,
      pausedReported: 0,
      waiters: new Map(),
      relayStoppedAt: null,
      finalWindow: null,
    };
    conn.channels.probe.onmessage = (e) => {
      const at = nowMs();
      if (leg.endpoint.receive(e.data, at)) leg.finalWindow?.probeArrived(at);
    };
    conn.channels.bulk.onmessage = (e) => {
      leg.s2cBytes += typeof e.data === 'string' ? e.data.length : (e.data as ArrayBuffer).byteLength;
    };
    conn.channels.control.onmessage = (e) => onControl(leg, e.data);
    for (const label of ['probe', 'control'] as const) {
      conn.channels[label].addEventListener('close', () => fail('channel_closed', 'the connection to the measurement server dropped (the server went away or the network failed)'));
    }
    return leg;
  }

  function onControl(leg: Leg, data: unknown) {
    const parsed = parseControlMessage(data);
    if (!parsed.ok) return; // A relay speaking nonsense must not break the survey.
    const m = parsed.message;
    const waiter = leg.waiters.get(m.type);
    if (waiter) {
      leg.waiters.delete(m.type);
      waiter(m);
    }
    if (m.type === 'probe_stats') {
      leg.relayThroughput = m.throughput;
      const index = m.c2s_stats.window_index ?? leg.relayWindowCount;
      leg.relayWindowCount++;
      emitPaired(leg, leg.pairing.peer(index, m.c2s_stats));
    } else if (m.type === 'sender_report') {
      const at = nowMs();
      if (leg.endpoint.receiveSenderReport({ last_seq: m.last_seq, sent: m.sent, paused_ms: m.paused_ms }, at) && m.final) relayStopped(leg, at);
    } else if (m.type === 'path_trace') {
      emit({ type: 'path_trace', trace: m });
    } else if (m.type === 'measuring_time_response') {
      measuringLeftMs = m.max_duration_ms;
      emit({ type: 'measuring_time', max_duration_ms: m.max_duration_ms });
    } else if (m.type === 'error') {
      if (m.code === 'time_limit_reached') {
        // The relay's streams are stopped (or never ran), and its last report, if any, came before this on the
        // ordered channel: nothing more is awaited from it. The survey stops as on an explicit stop.
        relayStopped(leg, nowMs());
        void stopSurvey('time_limit');
      } else if (m.message.startsWith('request_path_trace:')) emit({ type: 'path_trace_refused', message: m.message });
      else emit({ type: 'error', code: m.code, message: m.message });
    }
  }

  /** The relay's probe stream on this leg has stopped (its first word of it counts): the last window waits Tmax from then. */
  function relayStopped(leg: Leg, at: number) {
    leg.relayStoppedAt ??= at;
    leg.finalWindow?.peerStopped(leg.relayStoppedAt);
  }

  const send = (leg: Leg, msg: ControlMessage) => {
    try {
      if (leg.conn.channels.control.readyState === 'open') leg.conn.channels.control.send(JSON.stringify(msg));
    } catch {
      // A channel closing under us: its close event ends the survey.
    }
  };
  const request = <T extends ControlMessage['type']>(leg: Leg, msg: ControlMessage, reply: T): Promise<ControlOf<T>> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        leg.waiters.delete(reply);
        reject(new SurveyError('relay_failed', `the measurement server did not answer ${msg.type}`));
      }, CONTROL_REPLY_TIMEOUT_MS);
      leg.waiters.set(reply, (m) => {
        clearTimeout(timer);
        resolve(m as ControlOf<T>);
      });
      send(leg, msg);
    });
  const ids = (leg: Leg) => ({ survey_session_id: surveySessionId, conn_id: leg.conn.connId });

  /** Closes this client's window of the relay's probes: reports it to the relay, with our own sender report, and emits it. */
  const closeWindow = (leg: Leg, final: boolean) => {
    const at = nowMs();
    // Loaded when the load connection carried bytes this window (received, or taken by the paced sender).
    const win = loadWindow({ received: leg.s2cBytes, sent: leg.c2sBytes }, at - leg.windowOpenedAt);
    const s2c = leg.endpoint.report(at, { senderStopped: final, loaded: win.loaded, ...(win.throughputBps !== undefined ? { throughputBps: win.throughputBps } : {}) });
    const timestamp = nowMs();
    const own = leg.endpoint.senderReport();
    send(leg, { type: 'sender_report', ...ids(leg), timestamp_ms: timestamp, ...own });
    send(leg, { type: 'probe_stats', ...ids(leg), timestamp_ms: timestamp, c2s_stats: emptyDirectionStats(), s2c_stats: s2c });
    const throughput = { c2s_bytes_per_s: leg.relayThroughput?.c2s_bytes_per_s ?? win.sentPerS, s2c_bytes_per_s: win.receivedPerS };
    watchStall(leg, win.receivedPerS, win.sentPerS);
    if (s2c.rtt_ms[3] > 0) leg.rttP50Ms = s2c.rtt_ms[0];
    keepRtts(win.loaded ? loadedRtts : idleRtts, leg.windowRtts.splice(0));
    if (!win.loaded && ++leg.idleWindows >= BASELINE_WINDOWS) for (const w of leg.baselineWaiters.splice(0)) w();
    leg.windowOpenedAt = at;
    leg.s2cBytes = 0;
    leg.c2sBytes = 0;
    const paused = own.paused_ms - leg.pausedReported;
    leg.pausedReported = own.paused_ms;
    const window: OwnWindow = { timestamp, s2c, throughput, paused };
    const index = s2c.window_index ?? 0;
    if (!final) emitPaired(leg, leg.pairing.own(index, window));
    if (loadedRtts.length > 0) emit({ type: 'responsiveness', ...responsiveness(idleRtts, loadedRtts) });
    return { index, window };
  };

  /** A running test that moved nothing for STALL_WINDOWS seconds in a direction it tests is stopped, with an error in words. */
  const watchStall = (leg: Leg, receivedPerS: number, sentPerS: number) => {
    const load = leg.load;
    if (!load) return;
    if (load.dropped) {
      stopLoad(leg);
      emit({ type: 'error', code: 'throughput_failed', message: 'the throughput test stopped: its connection to the measurement server dropped' });
      return;
    }
    const stalledDown = load.direction !== 'upload' && receivedPerS === 0;
    const stalledUp = load.direction !== 'download' && sentPerS === 0;
    load.zeroWindows = stalledDown || stalledUp ? load.zeroWindows + 1 : 0;
    if (load.zeroWindows < STALL_WINDOWS) return;
    const which = stalledDown && stalledUp ? 'download and upload' : stalledDown ? 'download' : 'upload';
    stopLoad(leg);
    emit({
      type: 'error',
      code: 'throughput_stalled',
      message: `the throughput test stopped: the ${which} moved no data for ${STALL_WINDOWS} s, so no throughput or latency under load could be measured`,
    });
  };

  /** Emits what the pairing let go: a second per index, a late relay window into its own second; `finalIndex` is the last second's. */
  function emitPaired(leg: Leg, list: Paired<OwnWindow, DirectionStats>[], finalIndex?: number): void {
    for (const p of list) {
      if (p.kind === 'late') {
        emit({ type: 'relay_window', conn_id: leg.conn.connId, ...familyPath(leg.conn), window_index: p.index, c2s: p.peer });
        continue;
      }
      const { timestamp, s2c, throughput, paused } = p.own;
      emit({
        type: 'stats',
        conn_id: leg.conn.connId,
        ...familyPath(leg.conn),
        timestamp_ms: timestamp,
        window_index: p.index,
        c2s: p.peer,
        ...(p.missing ? { c2s_missing: p.missing } : {}),
        s2c,
        throughput,
        own_paused_ms: paused,
        ...(p.index === finalIndex ? { final: true } : {}),
      });
    }
  }

  try {
    await Promise.all(legs.map((leg) => request(leg, { type: 'start_survey_session', ...ids(leg) }, 'server_side_ready')));
    await Promise.all(legs.map((leg) => request(leg, { type: 'get_measuring_time', ...ids(leg) }, 'measuring_time_response')));
  } catch (e) {
    const err = e as SurveyError;
    fail(err.code ?? 'relay_failed', err.message);
    throw err;
  }
  measuringSince = Date.now();
  for (const leg of legs) {
    const startStreams = () => send(leg, { type: 'start_probe_streams', ...ids(leg) });
    if (opts.startStreamsDelayMs) setTimeout(() => !finished && startStreams(), opts.startStreamsDelayMs);
    else startStreams();
    leg.endpoint.start();
    leg.windowOpenedAt = nowMs();
  }
  emit({ type: 'status', status: 'measuring' });

  ticker = every(1000)(() => {
    for (const leg of legs) closeWindow(leg, false);
  });

  /** Ends a leg's throughput test now (closing its load connection), telling the relay. */
  function stopLoad(leg: Leg): void {
    leg.loadGeneration++;
    leg.upload?.stop();
    leg.upload = null;
    const load = leg.load;
    if (!load) return;
    leg.load = null;
    clearTimeout(load.timer);
    load.conn.close();
    send(leg, { type: 'stop_throughput', ...ids(leg) });
  }

  /** Resolves once the leg has measured BASELINE_WINDOWS unloaded seconds. */
  const baseline = (leg: Leg) => new Promise<void>((resolve) => (leg.idleWindows >= BASELINE_WINDOWS ? resolve() : leg.baselineWaiters.push(resolve)));

  /** Runs one throughput test on a leg: baseline first, then the load connection, until its duration ends or it is stopped. */
  async function runLoad(leg: Leg, direction: ThroughputDirection, durationMs: number): Promise<void> {
    const generation = ++leg.loadGeneration;
    const current = () => generation === leg.loadGeneration && !finished;
    if (leg.idleWindows < BASELINE_WINDOWS) {
      emit({ type: 'throughput', state: 'baseline', direction, message: `measuring ${BASELINE_WINDOWS} s without load first (the idle baseline), then the throughput test starts` });
      await baseline(leg);
      if (!current()) return;
    }
    await leg.loadOpening.catch(() => undefined);
    if (!current()) return;
    let granted = durationMs;
    let conn: LoadConnection;
    try {
      const opening = openLoadConnection({
        RTCPeerConnection: opts.RTCPeerConnection,
        of: leg.conn,
        iceTimeoutMs: opts.iceTimeoutMs ?? 10_000,
        exchange: async (sdp) => {
          const ready = await request(leg, { type: 'start_throughput', ...ids(leg), direction, duration_ms: durationMs, sdp }, 'throughput_ready');
          granted = ready.duration_ms;
          return opts.loadAnswer ? opts.loadAnswer(ready.sdp) : ready.sdp;
        },
      });
      leg.loadOpening = opening;
      conn = await opening;
    } catch (e) {
      if (!current()) return;
      emit({ type: 'error', code: 'throughput_failed', message: `the throughput test could not start: ${(e as Error)?.message ?? String(e)}` });
      return;
    }
    if (!current()) {
      conn.close();
      return;
    }
    conn.bulk.onmessage = (e) => {
      leg.s2cBytes += typeof e.data === 'string' ? e.data.length : (e.data as ArrayBuffer).byteLength;
    };
    // Told at the next window, not now: when the whole relay goes, the probe connection's close (one error for all) comes first.
    conn.bulk.addEventListener('close', () => {
      if (leg.load?.conn === conn) leg.load.dropped = true;
    });
    const timer = setTimeout(() => {
      if (leg.load?.conn !== conn) return;
      stopLoad(leg);
      emit({ type: 'throughput', state: 'done', direction, message: 'throughput test finished' });
    }, granted);
    leg.load = { conn, direction, zeroWindows: 0, dropped: false, timer };
    if (direction !== 'download') leg.upload = startBulkUpload(conn.bulk, (n) => (leg.c2sBytes += n), () => leg.rttP50Ms);
    emit({ type: 'throughput', state: 'running', direction, message: `throughput test running (${direction}) on its own connection` });
  }

  const setTraffic = (mode: TrafficMode, durationMs?: number) => {
    if (finished) return;
    const direction: ThroughputDirection | null = mode.download && mode.upload ? 'both' : mode.download ? 'download' : mode.upload ? 'upload' : null;
    const left = measuringLeftMs - (Date.now() - measuringSince);
    const duration = Math.round(Math.min(MAX_THROUGHPUT_MS, Math.max(1_000, durationMs ?? left)));
    for (const leg of legs) {
      leg.downloading = mode.download;
      stopLoad(leg);
      if (direction) void runLoad(leg, direction, duration);
    }
  };

  /** The stop, once: by the user (`explicit`) or at the key's measuring limit (`time_limit`); later calls get the same outcome. */
  function stopSurvey(reason: Exclude<StopReason, 'closed'>): Promise<{ pcap_available: boolean }> {
    if (stopping) return stopping;
    if (finished) return Promise.resolve({ pcap_available: false });
    stopping = runStop(reason);
    return stopping;
  }

  async function runStop(reason: Exclude<StopReason, 'closed'>): Promise<{ pcap_available: boolean }> {
    finished = true;
    emit({ type: 'status', status: 'stopping', reason });
    ticker?.stop();
    const stoppedAt = nowMs();
    for (const leg of legs) {
      leg.endpoint.stop();
      stopLoad(leg);
      send(leg, { type: 'sender_report', ...ids(leg), timestamp_ms: nowMs(), ...leg.endpoint.senderReport() });
      send(leg, { type: 'stop_probe_streams', ...ids(leg) });
    }
    // Each last window closes once the relay's last sender_report is Tmax old, so its lost tail counts (a real
    // wait for an event, bounded: a relay that sends no such report gets a few seconds).
    await Promise.all(
      legs.map((leg) => {
        leg.finalWindow = waitFinalWindow(() => {}, { stoppedAt, peerStoppedAt: leg.relayStoppedAt, now: nowMs, after: (ms, fire) => setTimeout(fire, ms) });
        return leg.finalWindow.done;
      }),
    );
    const last = legs.map((leg) => closeWindow(leg, true));
    let pcap = false;
    let confirmed = false;
    try {
      // The relay sends its last window before it answers, so every relay window has arrived by then.
      const replies = await Promise.all(legs.map((leg) => request(leg, { type: 'stop_survey_session', ...ids(leg) }, 'survey_session_stopped')));
      pcap = replies.every((r) => r.pcap_available);
      confirmed = true;
    } catch {
      pcap = false;
    }
    legs.forEach((leg, i) => {
      const { index, window } = last[i]!;
      emitPaired(leg, [...leg.pairing.own(index, { ...window, timestamp: nowMs() }), ...leg.pairing.finish(confirmed)], index);
    });
    for (const l of legs) l.conn.close();
    emit({ type: 'stopped', pcap_available: pcap, reason });
    emit({ type: 'status', status: 'stopped' });
    return { pcap_available: pcap };
  }

  return {
    surveySessionId,
    connIds: legs.map((l) => l.conn.connId),
    paths: legs.map((l) => pathOf(l.conn)),
    unavailable,
    setServerTraffic(on) {
      setTraffic({ download: on, upload: legs.some((l) => l.load !== null && l.load.direction !== 'download') });
    },
    setTraffic,
    responsiveness: () => responsiveness(idleRtts, loadedRtts),
    requestPathTrace() {
      for (const leg of legs) send(leg, { type: 'request_path_trace', ...ids(leg) });
    },
    stop: () => stopSurvey('explicit'),
    close() {
      if (!finish()) return;
      emit({ type: 'stopped', pcap_available: false, reason: 'closed' });
      emit({ type: 'status', status: 'stopped' });
    },
  };
}

/** Appends a window's RTT samples to a survey's, keeping at most MAX_RTT_SAMPLES (the earliest). */
function keepRtts(into: number[], samples: readonly number[]): void {
  for (const x of samples) {
    if (into.length >= MAX_RTT_SAMPLES) return;
    into.push(x);
  }
}

/** One connection a survey opens: its family (absent: ICE picks) and its path within it. */
interface Slot {
  family?: IpFamily;
  pathIndex: number;
}

/** The connections of a survey: `paths` per family, families side by side (or `paths` unheld ones). */
export function surveySlots(families: readonly IpFamily[] | undefined, paths: number): Slot[] {
  const indexes = Array.from({ length: paths }, (_, i) => i);
  if (!families) return indexes.map((pathIndex) => ({ pathIndex }));
  return families.flatMap((family) => indexes.map((pathIndex) => ({ family, pathIndex })));
}

/** Refusals that concern the survey, not one family: they end it instead of leaving a family out. */
const SURVEY_REFUSALS = /^(key_|auth_required|rate_limited|forbidden|invalid_request|conflict)/;

const isSurveyRefusal = (e: unknown): e is SurveyError => e instanceof SurveyError && SURVEY_REFUSALS.test(e.code);

/**
 * Opens `paths` connections per family. The first goes alone, naming how many the survey opens in all, so a key
 * whose limit cannot hold them is refused up front (in words) before any other is opened; the rest then open at
 * once. A family any of whose connections fails is left out whole (its others closed), with the reason; a refusal
 * of the survey itself is thrown.
 */
export async function openFamilies(
  families: readonly IpFamily[],
  paths: number,
  open: (slot: Slot, planned: number | null) => Promise<Connection>,
): Promise<{ conns: Connection[]; unavailable: { family: IpFamily; code: string; reason: string }[] }> {
  const slots = surveySlots([...new Set(families)], paths);
  const outcomes = new Map<Slot, PromiseSettledResult<Connection>>();
  const [first, ...rest] = slots;
  const firstOutcome = await open(first!, slots.length).then(
    (value): PromiseSettledResult<Connection> => ({ status: 'fulfilled', value }),
    (reason: unknown): PromiseSettledResult<Connection> => ({ status: 'rejected', reason }),
  );
  outcomes.set(first!, firstOutcome);
  if (firstOutcome.status === 'rejected' && isSurveyRefusal(firstOutcome.reason)) throw firstOutcome.reason;
  // The first family failed on its own terms: its other paths would too, so only the other families are opened.
  const others = firstOutcome.status === 'rejected' ? rest.filter((s) => s.family !== first!.family) : rest;
  const settled = await Promise.allSettled(others.map((slot) => open(slot, null)));
  others.forEach((slot, i) => outcomes.set(slot, settled[i]!));
  const all = [...outcomes.values()];
  const refusal = all.find((o) => o.status === 'rejected' && isSurveyRefusal(o.reason));
  const closeAll = () => all.forEach((o) => o.status === 'fulfilled' && o.value.close());
  if (refusal?.status === 'rejected') {
    closeAll();
    throw refusal.reason;
  }
  const conns: Connection[] = [];
  const unavailable: { family: IpFamily; code: string; reason: string }[] = [];
  for (const family of new Set(slots.map((s) => s.family!))) {
    const mine = slots.filter((s) => s.family === family).map((s) => outcomes.get(s));
    const failed = mine.find((o) => o?.status === 'rejected');
    if (failed?.status === 'rejected' || mine.some((o) => o === undefined)) {
      for (const o of mine) if (o?.status === 'fulfilled') o.value.close();
      const err = failed?.status === 'rejected' ? failed.reason : null;
      const code = err instanceof SurveyError ? err.code : 'network_error';
      const failures = mine.filter((o) => o?.status !== 'fulfilled').length;
      const why = err instanceof Error ? err.message : String(err);
      unavailable.push({ family, code, reason: `${failures} of ${paths} connection${paths === 1 ? '' : 's'} failed: ${why}` });
    } else for (const o of mine) if (o?.status === 'fulfilled') conns.push(o.value);
  }
  if (conns.length === 0) {
    const words = unavailable.map((u) => `${u.family}: ${u.reason}`).join('; ');
    throw new SurveyError(unavailable[0]?.code ?? 'network_error', `no address family could connect (${words})`);
  }
  return { conns, unavailable };
}

/** A connection's family and path for its events (each left out when it has none). */
function familyPath(conn: Connection): { family?: IpFamily; path_index?: number } {
  return { ...(conn.family ? { family: conn.family } : {}), ...(conn.pathIndex !== undefined ? { path_index: conn.pathIndex } : {}) };
}

/** A connection's place and address pair, as the handle and the `connection` event give it. */
function pathOf(conn: Connection) {
  return { conn_id: conn.connId, family: conn.family ?? null, path_index: conn.pathIndex ?? 0, pair: conn.pair };
}
