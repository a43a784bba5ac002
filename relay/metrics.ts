import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { RelayLoad } from '../shared/protocol/relay-api.js';
import type { DirectionStats } from '../shared/stats/direction-stats.js';
import type { CaptureCounters } from './capture/capture-buffer.js';
import { LOOP_SAMPLE_MS, loopLagMs, startLoopMonitor } from './loop-lag.js';
import type { MetricWriterCounters } from './metric-writer.js';
import { CHANNEL_LABELS, type Session } from './session.js';

/** Why the relay refused a client's message: the control `error` codes it answers a bad message with. */
export const REJECT_REASONS = ['too_large', 'rate_limited', 'invalid_message', 'not_json', 'unknown_type', 'wrong_direction', 'invalid_state', 'forbidden'] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

/** Where a session is in its life, for the sessions gauge. */
export const SESSION_STATES = ['signaled', 'open', 'surveying', 'streaming'] as const;
export type SessionState = (typeof SESSION_STATES)[number];

// Counted per process, not per relay: the control handlers and the stats windows that see these
// have no handle on their relay, and a deployed relay runs alone in its process.
const rejected = Object.fromEntries(REJECT_REASONS.map((r) => [r, 0])) as Record<RejectReason, number>;
const c2sProbes = { received: 0, lost: 0, expected: 0 };

/** Counts one client message the relay refused (answered with an `error`, or ignored past the control budget). */
export function countRejected(reason: RejectReason): void {
  rejected[reason]++;
}

/** Adds one c2s stats window of a session (stats-report.ts) to the probe totals. */
export function countProbeWindow(w: DirectionStats): void {
  const expected = w.probes_expected ?? 0;
  c2sProbes.received += w.probe_count;
  c2sProbes.expected += expected;
  // loss_rate is lost / expected in percent: this gives the window's whole number of lost probes back.
  c2sProbes.lost += Math.round((w.loss_rate * expected) / 100);
}

/** Where a session is: streams running, a survey started, its three channels open, or only signaled. */
export function sessionState(s: Pick<Session, 'channels' | 'surveyId' | 'streaming'>): SessionState {
  if (s.streaming) return 'streaming';
  if (s.surveyId !== null) return 'surveying';
  return CHANNEL_LABELS.every((l) => s.channels[l]?.isOpen()) ? 'open' : 'signaled';
}

/** What the relay's metrics are read from, at scrape time only. */
export interface RelayMetricsSources {
  relayId: string;
  region: string;
  sessions: () => Iterable<Session>;
  load: () => RelayLoad;
  writer: () => MetricWriterCounters;
  capture: () => CaptureCounters;
  /** Capture files being written now. */
  captureFilesWriting: () => number;
}

/** One scrape: the exposition text and its content type. */
export interface Scrape {
  contentType: string;
  body: string;
}

export interface RelayMetrics {
  registry: Registry;
  /** Keeps the probes a closing session sent in the total (its endpoint goes with it); call once, as it leaves the session set. */
  sessionClosed(s: Session): void;
  scrape(): Promise<Scrape>;
}

let processRegistry: Registry | null = null;

/** The process's own metrics (prom-client's defaults: RSS, heap, GC, handles; and the event-loop lag), made once per process. */
function processMetrics(): Registry {
  if (!processRegistry) {
    const reg = new Registry();
    collectDefaultMetrics({ register: reg });
    // Gauges named like counters fail promtool's lint; the same counts remain, by type, in nodejs_active_{handles,requests,resources}.
    for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) reg.removeSingleMetric(name);
    // prom-client's nodejs_eventloop_lag_p*_seconds include the sampling interval itself (10 ms at rest); this is the lag alone.
    const delay = startLoopMonitor();
    const lag = (ns: number) => loopLagMs(ns) / 1000;
    new Gauge({
      name: 'netpoke_relay_event_loop_lag_seconds',
      help: `Event-loop lag since the previous scrape (monitorEventLoopDelay, sampled every ${LOOP_SAMPLE_MS} ms, the interval taken off): p50, p99 and max.`,
      labelNames: ['stat'],
      registers: [reg],
      collect() {
        this.set({ stat: 'p50' }, lag(delay.percentile(50)));
        this.set({ stat: 'p99' }, lag(delay.percentile(99)));
        this.set({ stat: 'max' }, lag(delay.max));
        delay.reset();
      },
    });
    processRegistry = reg;
  }
  return processRegistry;
}

/**
 * The relay's Prometheus registry. Every value is read from the relay's own
 * counters when scraped (collect callbacks): nothing runs on a timer, least of
 * all on the probe loop.
 */
export function createRelayMetrics(src: RelayMetricsSources): RelayMetrics {
  const own = new Registry();
  let closedSent = 0;
  const gauge = (name: string, help: string, read: () => number) =>
    new Gauge({ name, help, registers: [own], collect() { this.set(read()); } });
  const gaugeBy = (name: string, help: string, label: string, read: () => Record<string, number>) =>
    new Gauge({ name, help, labelNames: [label], registers: [own], collect() { for (const [k, v] of Object.entries(read())) this.set({ [label]: k }, v); } });
  // Counters mirror totals kept elsewhere: each scrape sets them to the total, which only grows.
  const counter = (name: string, help: string, read: () => number) =>
    new Counter({ name, help, registers: [own], collect() { this.reset(); this.inc(read()); } });
  const counterBy = (name: string, help: string, label: string, read: () => Record<string, number>) =>
    new Counter({ name, help, labelNames: [label], registers: [own], collect() { this.reset(); for (const [k, v] of Object.entries(read())) this.inc({ [label]: k }, v); } });

  new Gauge({ name: 'netpoke_relay_info', help: 'The relay this is, and its region (always 1).', labelNames: ['relay_id', 'region'], registers: [own] }).set({ relay_id: src.relayId, region: src.region }, 1);
  gaugeBy('netpoke_relay_sessions', 'Client connections by state: signaled (channels not all open), open, surveying (survey started), streaming (probe streams on).', 'state', () => {
    const by = Object.fromEntries(SESSION_STATES.map((st) => [st, 0])) as Record<SessionState, number>;
    for (const s of src.sessions()) by[sessionState(s)]++;
    return by;
  });
  gauge('netpoke_relay_capacity_sessions', 'Client connections the relay takes at most (RELAY_CAPACITY).', () => src.load().capacity);
  gauge('netpoke_relay_probe_timer_slip_p99_seconds', 'p99 lateness of the shared 10 ms probe timer over the current slip window.', () => (src.load().timer_slip_p99_ms ?? 0) / 1000);

  counter('netpoke_relay_probes_sent_total', 'Probes the relay sent to clients (s2c).', () => {
    let live = 0;
    for (const s of src.sessions()) live += s.endpoint.sent;
    return closedSent + live;
  });
  counter('netpoke_relay_probes_received_total', 'Client probes (c2s) received, over the closed stats windows; counted per process.', () => c2sProbes.received);
  counter('netpoke_relay_probes_lost_total', 'Client probes (c2s) settled as lost (Tmax passed), over the closed stats windows; counted per process.', () => c2sProbes.lost);
  counter('netpoke_relay_probes_expected_total', 'Client probes (c2s) settled, received or lost: the denominator of loss; counted per process.', () => c2sProbes.expected);
  counterBy('netpoke_relay_rejected_messages_total', 'Client messages refused, by the error code answered; counted per process.', 'reason', () => rejected);

  gauge('netpoke_relay_writer_queue_rows', 'Metric rows waiting for the database or in flight.', () => src.writer().buffered);
  gauge('netpoke_relay_writer_last_flush_seconds', 'How long the last flush that had rows took, retries included (0 before the first).', () => (src.writer().lastFlushMs ?? 0) / 1000);
  counter('netpoke_relay_writer_rows_written_total', 'Rows the database confirmed written.', () => src.writer().written);
  counterBy('netpoke_relay_writer_rows_dropped_total', 'Rows never written: overflow (buffer full), refused (invalid or refused by the database), shutdown (left at drain).', 'reason', () => src.writer().dropped);
  counter('netpoke_relay_writer_failed_attempts_total', 'Write attempts that failed: database unreachable, busy or slow.', () => src.writer().failedAttempts);
  counter('netpoke_relay_writer_batches_total', 'Batched writes the database confirmed.', () => src.writer().batches);

  gauge('netpoke_relay_capture_held_bytes', 'Capture memory held: live captures and sealed ones being written.', () => src.capture().bytes_held);
  gauge('netpoke_relay_captures_live', 'Connections capturing now.', () => src.capture().live_captures);
  gauge('netpoke_relay_capture_files_writing', 'Capture files being written now.', src.captureFilesWriting);
  counter('netpoke_relay_capture_records_total', 'Messages captured.', () => src.capture().records_captured);
  counterBy('netpoke_relay_capture_records_dropped_total', 'Captured messages dropped for room: conn_cap (the connection reached its cap), relay_cap (the relay reached its total).', 'reason', () => {
    const c = src.capture();
    return { conn_cap: c.records_dropped_conn_cap, relay_cap: c.records_dropped_relay_cap };
  });

  const registry = Registry.merge([processMetrics(), own]);
  return {
    registry,
    sessionClosed(s) {
      closedSent += s.endpoint.sent;
    },
    async scrape() {
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
  };
}
