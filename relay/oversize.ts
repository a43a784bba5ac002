import { controlError } from '../shared/protocol/control.js';
import { sendControl, type Session } from './session.js';

/** Connections refused for an oversized message: whatever else they sent is ignored until they are closed. */
const refused = new WeakSet<Session>();

/** The longest a refused connection stays open for its `too_large` error to get through. */
const CLOSE_WITHIN_MS = 1_000;

/** Whether the connection was refused for an oversized message. */
export function isRefused(s: Session): boolean {
  return refused.has(s);
}

/**
 * Tells the client why (`too_large`) and closes the connection. Closing the
 * whole peer at once would drop the error still on its way, so the control
 * channel is closed first: its stream reset follows the error, and the
 * channel's close ends the session; `close` runs anyway after a second.
 */
export function refuseOversize(s: Session, why: string, close: () => void): void {
  if (refused.has(s)) return;
  refused.add(s);
  sendControl(s, controlError('too_large', why));
  const timer = setTimeout(() => {
    s.timers.delete(timer);
    close();
  }, CLOSE_WITHIN_MS);
  s.timers.add(timer);
  try {
    s.channels.control?.close();
  } catch {
    // Already closing: the timer ends the session.
  }
}
