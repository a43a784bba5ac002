import { createTickGroup, type Schedule, type ScheduleHandle } from '../shared/probe/tick-group.js';

/** The connections that share one interval's timer, and the ticks that timer had skipped when each joined. */
interface Group {
  id: number;
  members: Set<() => void>;
  skipped: number;
}

/**
 * Schedules driven by the tick worker (page/tick-worker.ts), so a hidden tab
 * keeps its probe schedule; falls back to the page's own timers where no
 * worker can be started. One clock for all connections: every member of an
 * interval ticks from that interval's one timer (32 connections cost one
 * worker message per 10 ms, not 32), and each member's `skipped` counts the
 * ticks that timer gave up since it joined — its own send-slip.
 */
export function workerClock(url = '/tick-worker.js'): (intervalMs: number) => Schedule {
  let worker: Worker | null = null;
  try {
    worker = new Worker(url, { type: 'module' });
  } catch {
    worker = null;
  }
  const groups = new Map<number, Group>();
  const byId = new Map<number, Group>();
  const local = new Map<number, Schedule>();
  let next = 1;
  worker?.addEventListener('message', (e: MessageEvent<{ id: number; skipped: number }>) => {
    const g = byId.get(e.data.id);
    if (!g) return;
    g.skipped = e.data.skipped;
    for (const m of g.members) {
      try {
        m();
      } catch {
        // One connection's failure must not cost the others their tick.
      }
    }
  });
  return (intervalMs) => (onTick) => {
    if (!worker) {
      const schedule = local.get(intervalMs) ?? createTickGroup(intervalMs).schedule;
      local.set(intervalMs, schedule);
      return schedule(onTick);
    }
    const w = worker;
    let g = groups.get(intervalMs);
    if (!g) {
      g = { id: next++, members: new Set(), skipped: 0 };
      groups.set(intervalMs, g);
      byId.set(g.id, g);
      w.postMessage({ cmd: 'start', id: g.id, interval_ms: intervalMs });
    }
    const group = g;
    const member = () => onTick();
    group.members.add(member);
    const skippedAtJoin = group.skipped;
    const handle: ScheduleHandle = {
      stop() {
        group.members.delete(member);
        if (group.members.size > 0) return;
        groups.delete(intervalMs);
        byId.delete(group.id);
        w.postMessage({ cmd: 'stop', id: group.id });
      },
      get skipped() {
        return group.skipped - skippedAtJoin;
      },
    };
    return handle;
  };
}
