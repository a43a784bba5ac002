import { controlError } from '../shared/protocol/control.js';
import type { MetricWriter } from './metric-writer.js';
import { ownTimeout } from './session-state.js';
import { sendControl, stopStreams, type Session } from './session.js';
import { reportSecond } from './stats-report.js';

/** How long a connection whose measuring time is used up stays open: time to stop its survey and get its capture. */
export const DEFAULT_LIMIT_GRACE_MS = 5_000;

/**
 * How long an ended connection stays open after its error: the error's way to
 * the client. Closing at once, even the control channel alone, can overtake
 * the error still in the send queue (the client then sees only the close).
 */
const ERROR_WAY_MS = 500;

/** Connections being ended or given a closing time: each is ended once. */
const ending = new WeakSet<Session>();
const closing = new WeakSet<Session>();

/** Whether the connection is being ended: whatever else the client sends is ignored until it is closed. */
export function isEnding(s: Session): boolean {
  return ending.has(s);
}

/**
 * Ends a connection for a reason the client is told in words (`error` with
 * `code`): its streams stop and their last window is written and sent, the
 * error goes out, and `close` runs once the error has had time to arrive.
 */
export function endConnection(writer: MetricWriter, s: Session, code: string, message: string, close: () => void): void {
  if (s.closed || ending.has(s)) return;
  ending.add(s);
  if (s.streaming) stopStreams(s, () => reportSecond(writer, s, true));
  // Taken now rather than after Tmax: the connection will not wait for late probes.
  s.finalReport?.closeNow();
  sendControl(s, controlError(code, message));
  ownTimeout(s.machine, ERROR_WAY_MS, close, 'connection');
}

/** Closes a connection `graceMs` from now (armed once): time for the client to stop its survey and get its capture, e.g. after its measuring time ran out. */
export function closeAfter(s: Session, graceMs: number, close: () => void): void {
  if (s.closed || closing.has(s)) return;
  closing.add(s);
  ownTimeout(s.machine, graceMs, close, 'connection');
}
