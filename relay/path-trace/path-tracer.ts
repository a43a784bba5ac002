// Schedules each connection's path traces (at stream start, every period while streaming, on the client's request),
// sends them to the client as `path_trace` and queues them for the database; one trace at a time per connection.
import { pathTraceStatements } from '../../shared/db/path-traces.js';
import { uuid } from '../../shared/ids.js';
import { MAX_CONTROL_CHARS, type PathTraceMessage } from '../../shared/protocol/control.js';
import type { Logger } from '../log.js';
import type { MetricWriter } from '../metric-writer.js';
import { sendControl, type Session } from '../session.js';
import { own } from '../session-state.js';
import { startMtrPacket } from './mtr-packet.js';
import { createProbeBudget } from './probe-budget.js';
import { reverseNames } from './reverse-names.js';
import { DEFAULT_TRACE_SETTINGS, runTrace, type TraceResult, type TraceSettings } from './run-trace.js';
import { traceTarget } from './trace-target.js';
import { measurePathMtu } from './tracepath.js';

/** Path tracing as configured (RELAY_PATH_TRACE_*). */
export interface PathTraceConfig {
  /** RELAY_PATH_TRACE=off switches it off: every connection is told `available: false`. */
  enabled: boolean;
  mtrPacketPath: string;
  tracepathPath: string;
  /** The relay's global probe budget per second. */
  probesPerSecond: number;
  /** A trace every this many ms while the streams run. */
  everyMs: number;
  /** A connection's requests closer together than this are refused. */
  minRequestGapMs: number;
  /** How long reverse names may take, all hops together (0: none). */
  nameTimeoutMs: number;
  settings: TraceSettings;
}

export const DEFAULT_PATH_TRACE_CONFIG: PathTraceConfig = {
  enabled: true,
  mtrPacketPath: 'mtr-packet',
  tracepathPath: 'tracepath',
  probesPerSecond: 100,
  everyMs: 60_000,
  minRequestGapMs: 10_000,
  nameTimeoutMs: 1_000,
  settings: DEFAULT_TRACE_SETTINGS,
};

export interface PathTracer {
  /** The connection's probe streams started: a trace now, then one every period while they run. */
  streamsStarted(s: Session): void;
  /** The client asked for a trace; false (and nothing starts) when it asked too soon or one is running. */
  requested(s: Session): boolean;
  close(): void;
}

interface ConnTraces {
  running: boolean;
  lastRequestAt: number;
  /** The hop that last reported "fragmentation needed" at this MTU: later traces start from the kernel's cached MTU and hear no report. */
  mtuReporter: { mtu: number; address: string } | null;
  toldUnavailable: boolean;
}

/** A relay's path tracer: one mtr-packet process and one probe budget for all its connections. */
export function createPathTracer(opts: { config: PathTraceConfig; writer: MetricWriter; log: Logger; relayId: string; local: { address?: string; port: number } }): PathTracer {
  const { config, writer, log } = opts;
  const mtr = config.enabled ? startMtrPacket(config.mtrPacketPath) : null;
  const budget = createProbeBudget(config.probesPerSecond);
  const shutdown = new AbortController();
  const state = new WeakMap<Session, ConnTraces>();
  const of = (s: Session) => {
    let t = state.get(s);
    if (!t) state.set(s, (t = { running: false, lastRequestAt: -Infinity, mtuReporter: null, toldUnavailable: false }));
    return t;
  };

  const report = (s: Session, result: TraceResult, target: string | null) => {
    if (s.surveyId === null) return;
    const at = Date.now();
    const t = of(s);
    let mtuHopAddress: string | null = null;
    if (result.available) {
      if (result.mtuReporter && result.pathMtu !== null) t.mtuReporter = { mtu: result.pathMtu, address: result.mtuReporter };
      mtuHopAddress = result.mtuReporter ?? (t.mtuReporter && t.mtuReporter.mtu === result.pathMtu ? t.mtuReporter.address : null);
    }
    const hops = result.available ? result.hops : [];
    const mtuHop = hops.find((h) => mtuHopAddress !== null && h.address === mtuHopAddress)?.ttl ?? null;
    const msg: PathTraceMessage = {
      type: 'path_trace',
      survey_session_id: s.surveyId,
      conn_id: s.connId,
      at_ms: at,
      hops,
      path_mtu: result.available ? result.pathMtu : null,
      mtu_hop: mtuHop,
      mtu_hop_address: mtuHopAddress,
      available: result.available,
      ...(result.available ? {} : { reason: result.reason.slice(0, 300) }),
    };
    sendControl(s, fitControl(msg));
    for (const stmt of pathTraceStatements({
      traceId: uuid(),
      sessionId: s.surveyId,
      connId: s.connId,
      relayId: opts.relayId,
      atMs: at,
      target,
      available: msg.available,
      reason: msg.reason ?? null,
      pathMtu: msg.path_mtu,
      mtuHop,
      mtuHopAddress,
      hops,
    })) {
      writer.enqueue({ stmt });
    }
  };

  const trace = async (s: Session) => {
    const t = of(s);
    if (t.running || s.closed) return;
    if (!config.enabled || !mtr) {
      // Said once per connection: nothing else changes without the feature.
      if (!t.toldUnavailable) report(s, { available: false, reason: 'path tracing is switched off on this relay (RELAY_PATH_TRACE=off)' }, null);
      t.toldUnavailable = true;
      return;
    }
    // Only the connection's own peer, as ICE selected it, is ever a target.
    const target = traceTarget(s.pc);
    if (!target) {
      report(s, { available: false, reason: 'the connection has no selected candidate pair to trace' }, null);
      return;
    }
    t.running = true;
    try {
      const result = await runTrace(
        target,
        {
          mtr,
          budget,
          local: opts.local,
          pathMtu: (tg, maxHops) => measurePathMtu({ path: config.tracepathPath, address: tg.address, port: tg.port, maxHops, timeoutMs: 15_000, signal: shutdown.signal }),
        },
        config.settings,
      );
      if (result.available && config.nameTimeoutMs > 0) {
        const names = await reverseNames(result.hops.flatMap((h) => (h.address ? [h.address] : [])), config.nameTimeoutMs);
        for (const h of result.hops) h.name = h.address ? (names.get(h.address) ?? null) : null;
      }
      if (!result.available) log('warn', 'path trace unavailable', { conn_id: s.connId, reason: result.reason });
      report(s, result, `${target.address}:${target.port}`);
    } catch (e) {
      // The budget closed under the trace: the relay is shutting down.
      log('debug', 'path trace abandoned', { conn_id: s.connId, error: String(e) });
    } finally {
      t.running = false;
    }
  };

  return {
    streamsStarted(s) {
      void trace(s);
      // Owned by the 'streaming' state: the periodic traces stop with the streams.
      const timer = setInterval(() => void trace(s), config.everyMs);
      own(s.machine, () => clearInterval(timer));
    },
    requested(s) {
      const t = of(s);
      const now = Date.now();
      if (t.running || now - t.lastRequestAt < config.minRequestGapMs) return false;
      t.lastRequestAt = now;
      void trace(s);
      return true;
    },
    close() {
      shutdown.abort();
      budget.close();
      mtr?.close();
    },
  };
}

/** The message within the control channel's limit: names go first, then the farthest hops. */
export function fitControl(msg: PathTraceMessage): PathTraceMessage {
  let m = msg;
  if (JSON.stringify(m).length > MAX_CONTROL_CHARS) m = { ...m, hops: m.hops.map(({ name: _n, ...h }) => h) };
  while (JSON.stringify(m).length > MAX_CONTROL_CHARS && m.hops.length) m = { ...m, hops: m.hops.slice(0, -1) };
  return m;
}
