import { insertMetric } from '../shared/db/surveys.js';
import type { DirectionStats } from '../shared/stats/direction-stats.js';
import { nowMs } from '../shared/time.js';
import type { MetricWriter } from './metric-writer.js';
import { sendControl, type Session } from './session.js';

/**
 * One second of a session: the c2s stats it measured go to the client (with
 * the client's latest s2c and the bulk throughput) and into the write queue.
 * Runs on the session's own schedule from the moment its streams start, so
 * every report covers a whole second; the writes of all sessions still leave
 * in one batch per relay tick.
 */
export function reportSecond(writer: MetricWriter, s: Session): void {
  if (!s.streaming) return;
  const c2s = s.endpoint.report();
  const throughput = { c2s_bytes_per_s: s.bytes.c2s, s2c_bytes_per_s: s.bytes.s2c };
  s.bytes = { c2s: 0, s2c: 0 };
  const surveyId = s.surveyId;
  if (!surveyId) return;
  sendControl(s, { type: 'probe_stats', survey_session_id: surveyId, conn_id: s.connId, timestamp_ms: nowMs(), c2s_stats: c2s, s2c_stats: s.clientS2c, throughput });
  queueMetric(writer, s, surveyId, 'server', c2s);
}

/** Queues one survey_metrics row of this connection, moving its session's last_update_time: the relay's c2s or the client's s2c. */
export function queueMetric(writer: MetricWriter, s: Session, surveyId: string, source: 'server' | 'client', stats: DirectionStats): void {
  const at = Date.now();
  const direction = source === 'server' ? 'c2s' : 's2c';
  writer.enqueue({
    stmt: insertMetric({ session_id: surveyId, conn_id: s.connId, timestamp_ms: at, source, direction, stats }, at),
    touch: { sessionId: surveyId, at },
  });
}
