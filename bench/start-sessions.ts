// Starting a bench worker's sessions: a few set-ups at a time, all or none.

/** How many sessions one worker sets up at once: a burst of hundreds of DTLS handshakes starves the loops it is meant to measure. */
export const SET_UP_AT_ONCE = 5;

/**
 * Starts `count` sessions with at most `atOnce` set-ups in flight; if any fails
 * (after its own retries), closes those that started and throws its error.
 */
export async function startSessions<T>(count: number, start: () => Promise<T>, close: (t: T) => void, atOnce = SET_UP_AT_ONCE): Promise<T[]> {
  const started: T[] = [];
  let next = 0;
  let failure: { error: unknown } | null = null;
  const lane = async () => {
    while (next < count && !failure) {
      next++;
      try {
        started.push(await start());
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(atOnce, count) }, lane));
  if (failure) {
    for (const t of started) close(t);
    throw (failure as { error: unknown }).error;
  }
  return started;
}

/** Runs `start` up to `tries` times, pausing a little longer after each failure. */
export async function retried<T>(start: () => Promise<T>, tries = 4): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await start();
    } catch (e) {
      if (i >= tries) throw e;
      await new Promise((r) => setTimeout(r, 200 * i));
    }
  }
}
