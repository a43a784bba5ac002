/** One stats window's view of the throughput test, the same on both sides. */
export interface LoadWindow {
  /** The load connection carried bytes this window (either way). */
  loaded: boolean;
  /** Goodput received, bits/s over the window's real length; only on loaded windows, so means cover loaded seconds only. */
  throughputBps: number | undefined;
  /** Bytes received and sent per second of the window. */
  receivedPerS: number;
  sentPerS: number;
}

/**
 * A window's load and rates from the bulk bytes it moved. Rates divide by the
 * window's real length (a timer's window is rarely exactly 1000 ms, and the
 * last one after Stop is partial), never by a nominal second.
 */
export function loadWindow(bytes: { received: number; sent: number }, windowMs: number): LoadWindow {
  const seconds = windowMs > 0 ? windowMs / 1000 : 1;
  const loaded = bytes.received > 0 || bytes.sent > 0;
  const receivedPerS = bytes.received / seconds;
  return { loaded, throughputBps: loaded ? receivedPerS * 8 : undefined, receivedPerS, sentPerS: bytes.sent / seconds };
}
