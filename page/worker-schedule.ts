import type { Schedule, ScheduleHandle } from '../shared/probe/tick-group.js';
import { startTicker } from '../shared/probe/ticker.js';

/**
 * Schedules driven by the tick worker (page/tick-worker.ts), so a hidden tab
 * keeps its probe schedule; falls back to the page's own timers where no
 * worker can be started.
 */
export function workerClock(url = '/tick-worker.js'): (intervalMs: number) => Schedule {
  let worker: Worker | null = null;
  try {
    worker = new Worker(url, { type: 'module' });
  } catch {
    worker = null;
  }
  const members = new Map<number, { onTick: () => void; skipped: number }>();
  let next = 1;
  worker?.addEventListener('message', (e: MessageEvent<{ id: number; skipped: number }>) => {
    const m = members.get(e.data.id);
    if (!m) return;
    m.skipped = e.data.skipped;
    m.onTick();
  });
  return (intervalMs) => (onTick) => {
    if (!worker) return startTicker(intervalMs, onTick);
    const w = worker;
    const id = next++;
    const member = { onTick, skipped: 0 };
    members.set(id, member);
    w.postMessage({ cmd: 'start', id, interval_ms: intervalMs });
    const handle: ScheduleHandle = {
      stop() {
        members.delete(id);
        w.postMessage({ cmd: 'stop', id });
      },
      get skipped() {
        return member.skipped;
      },
    };
    return handle;
  };
}
