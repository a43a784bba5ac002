import { insertMetric, raiseSurveyMeasured } from '../shared/db/surveys.js';
import type { IpFamily } from '../shared/ip-family.js';
import type { DirectionStats } from '../shared/stats/direction-stats.js';
import { loadWindow } from '../shared/load-window.js';
import { nowMs } from '../shared/time.js';
import type { MetricWriter } from './metric-writer.js';
import { countProbeWindow } from './metrics.js';
import { connectionFamily, measuredSoFar, sendControl, type Session } from './session.js';

/**
 * One window of a session: the c2s stats it measured go to the client (with
 * the client's latest s2c and the bulk throughput) and into the write queue,
 * after the relay's own sender_report. Runs on the session's own second from
 * the moment its streams start, so every report covers a whole second; the
 * writes of all sessions (and their surveys' measuring time) still leave in
 * one batch per relay tick. `final` is
 * the last, partial window after the streams stopped: the client's probes
 * beyond its last report are not expected then.
 */
export function reportSecond(writer: MetricWriter, s: Session, final = false): void {
  if (!s.streaming && !final) return;
  const surveyId = s.surveyId;
  const at = nowMs();
  // Loaded when the load connection carried bytes this window: its delays are latency under load, not baseline.
  const { loaded, throughputBps, receivedPerS, sentPerS } = loadWindow({ received: s.bytes.c2s, sent: s.bytes.s2c }, at - s.windowOpenedAt);
  const throughput = { c2s_bytes_per_s: receivedPerS, s2c_bytes_per_s: sentPerS };
  const c2s = s.endpoint.report(at, { senderStopped: final, loaded, ...(throughputBps !== undefined ? { throughputBps } : {}) });
  countProbeWindow(c2s);
  s.bytes = { c2s: 0, s2c: 0 };
  s.windowOpenedAt = at;
  if (!surveyId) return;
  const ids = { survey_session_id: surveyId, conn_id: s.connId, timestamp_ms: nowMs() };
  sendControl(s, { type: 'sender_report', ...ids, ...s.endpoint.senderReport() });
  sendControl(s, { type: 'probe_stats', ...ids, c2s_stats: c2s, s2c_stats: echoed(s.clientS2c), throughput });
  queueMetric(writer, s, surveyId, 'server', c2s);
  // The survey's measuring time leaves in the same batch: a reconnect gets only what is left of the key's limit.
  writer.enqueue({ stmt: raiseSurveyMeasured(surveyId, measuredSoFar(s)) });
}

/** The client's own s2c window, sent back without its sketches: the client has them, and the message stays small. */
function echoed(stats: DirectionStats): DirectionStats {
  const { sketches: _sketches, sketch_format: _format, ...rest } = stats;
  return rest;
}

/** Queues one survey_metrics row of this connection, moving its session's last_update_time: the relay's c2s or the client's s2c. */
export function queueMetric(writer: MetricWriter, s: Session, surveyId: string, source: 'server' | 'client', stats: DirectionStats): void {
  const at = Date.now();
  const direction = source === 'server' ? 'c2s' : 's2c';
  const rowKey = `${s.peerId}:${source}:${s.rowSeq[source]++}`;
  writer.enqueue({
    stmt: insertMetric({ session_id: surveyId, conn_id: s.connId, timestamp_ms: at, source, direction, stats, row_key: rowKey, ...familyAndPath(s) }, at),
    touch: { sessionId: surveyId, at },
  });
}

/** The connection's family and path for its rows (PROTOCOL §2 v3), each left out when unknown. */
function familyAndPath(s: Session): { family?: IpFamily; path_index?: number } {
  const family = connectionFamily(s);
  return { ...(family ? { family } : {}), ...(s.pathIndex !== null ? { path_index: s.pathIndex } : {}) };
}
