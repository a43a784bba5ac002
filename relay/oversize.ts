import { controlError } from '../shared/protocol/control.js';
import { sendControl, type Session } from './session.js';

/** Connections refused for an oversized message: whatever else they sent is ignored until they are closed. */
const refused = new WeakSet<Session>();

/** The longest a refused connection waits for its `too_large` error to leave before it is closed. */
const FLUSH_MS = 250;

/** Whether the connection was refused for an oversized message. */
export function isRefused(s: Session): boolean {
  return refused.has(s);
}

/** Tells the client why (`too_large`), then closes the connection once that error has left its control channel. */
export function refuseOversize(s: Session, why: string, close: () => void): void {
  if (refused.has(s)) return;
  refused.add(s);
  sendControl(s, controlError('too_large', why));
  const dc = s.channels.control;
  let closed = false;
  const closeOnce = () => {
    if (closed) return;
    closed = true;
    clearTimeout(timer);
    s.timers.delete(timer);
    close();
  };
  const timer = setTimeout(closeOnce, FLUSH_MS);
  s.timers.add(timer);
  if (!dc?.isOpen() || dc.bufferedAmount() === 0) setImmediate(closeOnce);
  else {
    dc.setBufferedAmountLowThreshold(0);
    dc.onBufferedAmountLow(closeOnce);
  }
}
