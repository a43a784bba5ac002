// The relay's global budget of trace probes per second: every probe of every connection's trace takes one token.

/** A token bucket shared by all traces of a relay. */
export interface ProbeBudget {
  /** Resolves when a probe may be sent (waiters are served in order); rejects once the budget is closed. */
  take(): Promise<void>;
  close(): void;
}

/** A bucket of `perSecond` tokens a second, holding at most `burst`. */
export function createProbeBudget(perSecond: number, burst = perSecond, now: () => number = Date.now): ProbeBudget {
  let tokens = burst;
  let at = now();
  let timer: ReturnType<typeof setTimeout> | null = null;
  let closed = false;
  const waiters: { resolve: () => void; reject: (e: Error) => void }[] = [];
  const refill = () => {
    const t = now();
    tokens = Math.min(burst, tokens + ((t - at) / 1000) * perSecond);
    at = t;
  };
  const serve = () => {
    timer = null;
    refill();
    while (waiters.length && tokens >= 1) {
      tokens--;
      waiters.shift()!.resolve();
    }
    // The next token's due time, not a poll.
    if (waiters.length && !closed) timer = setTimeout(serve, Math.ceil(((1 - tokens) / perSecond) * 1000));
  };
  return {
    take() {
      if (closed) return Promise.reject(new Error('probe budget closed'));
      return new Promise<void>((resolve, reject) => {
        waiters.push({ resolve, reject });
        if (!timer) serve();
      });
    },
    close() {
      closed = true;
      if (timer) clearTimeout(timer);
      for (const w of waiters.splice(0)) w.reject(new Error('probe budget closed'));
    },
  };
}
