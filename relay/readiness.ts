import type { Db } from '../shared/db/client.js';
import { relayHeartbeat } from '../shared/db/relays.js';

/** Why a relay cannot take new peers now. */
export type NotReadyReason = 'draining' | 'not_registered' | 'database_unreachable';

/** What GET /ready answers: 200 `{ready: true}`, else 503 with the reason in a code and in words. */
export type Readiness = { ready: true } | { ready: false; reason: NotReadyReason; message: string };

/** How long the database read may take before the relay counts as not ready (a health checker waits a few seconds at most). */
export const READY_DB_TIMEOUT_MS = 2_000;

/**
 * Ready = not draining, registered (its registry started and its row carries a heartbeat), and the database
 * answers one cheap read in time: the read of its own row checks both of the last two at once.
 */
export async function checkReadiness(opts: {
  db: Db;
  relayId: string;
  draining: () => boolean;
  registered: () => boolean;
  timeoutMs?: number;
}): Promise<Readiness> {
  if (opts.draining()) return notReady('draining', 'the relay is draining or shutting down and takes no new peers');
  if (!opts.registered()) return notReady('not_registered', 'the relay has not registered itself yet');
  const ms = opts.timeoutMs ?? READY_DB_TIMEOUT_MS;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), ms)));
  try {
    const heartbeat = await Promise.race([relayHeartbeat(opts.db, opts.relayId), timeout]);
    if (heartbeat === 'timeout') return notReady('database_unreachable', `the database did not answer within ${ms} ms`);
    if (!heartbeat) return notReady('not_registered', 'the relay has no live row in the registry');
    return { ready: true };
  } catch {
    // The error text may name the database's URL: the answer says only that it failed.
    return notReady('database_unreachable', 'the database read failed');
  } finally {
    clearTimeout(timer);
  }
}

function notReady(reason: NotReadyReason, message: string): Readiness {
  return { ready: false, reason, message };
}
