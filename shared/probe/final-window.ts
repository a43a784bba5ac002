/**
 * How long the last window stays open after the far side's last `sender_report` arrived: the receiver's Tmax
 * (500 ms), so the report's tail settles, plus a margin for the timer.
 */
export const FINAL_AFTER_PEER_REPORT_MS = 600;
/** The longest the last window waits after this side stopped for the far side's last report (an older peer sends none). */
export const FINAL_REPORT_WAIT_MS = 3_000;
/** The longest the last window waits after this side stopped for the far side's probes to stop arriving. */
export const FINAL_DRAIN_MAX_MS = 6_000;

export interface FinalWindow {
  /** The far side's last sender_report arrived at `atMs` (the first one counts): the window closes Tmax after it. */
  peerStopped(atMs: number): void;
  /** A probe of the far side arrived at `atMs`: while they still come, its queue is draining and the window stays open. */
  probeArrived(atMs: number): void;
  /** Closes the window now, once (a connection going away does not wait for late probes). */
  closeNow(): void;
  /** Settles once the window has closed. */
  readonly done: Promise<void>;
}

export interface FinalWindowOptions {
  /** When this side stopped its streams. */
  stoppedAt: number;
  /** When the far side's last report arrived, if it already had (it stopped first, or told us so). */
  peerStoppedAt: number | null;
  now: () => number;
  /** Runs `fire` in `ms` (the relay's timers belong to the connection's state; the client's are plain timeouts). */
  after: (ms: number, fire: () => void) => void;
}

/**
 * The last window of a stopped stream closes once the far side's last
 * sender_report is Tmax old, so its tail — probes sent but lost just before
 * it stopped — settles as loss. A fixed wait after our own stop is not that:
 * at 300 ms RTT the far side's last report arrives 300 ms after our stop, and
 * the window would close before the tail settled. Without that report the
 * window closes FINAL_REPORT_WAIT_MS after the stop. It also waits until no
 * probe has arrived for as long: the report travels on the control channel
 * and can overtake probes still queued in the far side's SCTP (at 75 ms
 * under load, most of a second of them), which would read as a lost tail.
 */
export function waitFinalWindow(close: () => void, o: FinalWindowOptions): FinalWindow {
  let peerAt = o.peerStoppedAt;
  let lastProbeAt = -Infinity;
  let closed = false;
  /** Only the latest armed timer may close the window. */
  let arm = 0;
  let resolve!: () => void;
  const done = new Promise<void>((r) => (resolve = r));
  const closeNow = () => {
    if (closed) return;
    closed = true;
    close();
    resolve();
  };
  const due = () => {
    const base = peerAt === null ? o.stoppedAt + FINAL_REPORT_WAIT_MS : Math.max(o.stoppedAt, peerAt) + FINAL_AFTER_PEER_REPORT_MS;
    return Math.min(Math.max(base, lastProbeAt + FINAL_AFTER_PEER_REPORT_MS), o.stoppedAt + FINAL_DRAIN_MAX_MS);
  };
  const schedule = () => {
    const mine = ++arm;
    o.after(Math.max(0, due() - o.now()), () => {
      if (mine !== arm) return;
      // Probes that arrived since the timer was armed pushed the close later (checked here, not re-armed per probe).
      if (due() > o.now()) schedule();
      else closeNow();
    });
  };
  schedule();
  return {
    peerStopped(atMs) {
      if (closed || peerAt !== null) return;
      peerAt = atMs;
      schedule();
    },
    probeArrived(atMs) {
      lastProbeAt = Math.max(lastProbeAt, atMs);
    },
    closeNow,
    done,
  };
}
