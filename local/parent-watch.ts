// How `npm start`'s processes notice that the process that started them is gone, however it ended (SIGKILL included).

/** How often a process without an IPC channel looks at its parent id. */
const PARENT_POLL_MS = 200;

/**
 * Calls `onGone` once when this process's parent dies. With an IPC channel
 * (a child of `npm start`) that is the channel closing, which the kernel does
 * when the parent dies however it dies; without one (`npm start` itself, under
 * npm) it is the parent id changing, since an orphan is handed to another
 * parent. Nothing happens for a process whose parent is init from the start.
 */
export function whenParentGone(onGone: () => void): void {
  let fired = false;
  const fire = () => {
    if (fired) return;
    fired = true;
    onGone();
  };
  if (process.channel) {
    process.once('disconnect', fire);
    // The channel is only watched: it must not keep the process alive by itself.
    process.channel.unref();
    return;
  }
  const parent = process.ppid;
  if (parent <= 1) return;
  const timer = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(timer);
    fire();
  }, PARENT_POLL_MS);
  timer.unref();
}
