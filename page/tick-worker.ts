// The page's clock, in a dedicated worker: browsers throttle a hidden tab's timers to about one a second,
// but not a worker's, so probing keeps its 10 ms schedule while the technician switches apps.
import { startTicker, type Ticker } from '../shared/probe/ticker.js';

type Command = { cmd: 'start'; id: number; interval_ms: number } | { cmd: 'stop'; id: number };

const tickers = new Map<number, Ticker>();
const scope = self as unknown as { onmessage: ((e: MessageEvent<Command>) => void) | null; postMessage(m: unknown): void };

scope.onmessage = (e) => {
  const c = e.data;
  if (c.cmd === 'start' && !tickers.has(c.id) && c.interval_ms >= 1) {
    const t: Ticker = startTicker(c.interval_ms, () => scope.postMessage({ id: c.id, skipped: t.skipped }));
    tickers.set(c.id, t);
  } else if (c.cmd === 'stop') {
    tickers.get(c.id)?.stop();
    tickers.delete(c.id);
  }
};
