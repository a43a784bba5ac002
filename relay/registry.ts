import type { Db } from '../shared/db/client.js';
import { closeAllRelayPeers, closeRelayPeer, openRelayPeer, upsertRelay, type RelayRecord } from '../shared/db/relays.js';
import type { Logger } from './log.js';

export interface Registry {
  peerOpened(p: { peer_id: string; relay_id: string; magic_key: string; conn_id: string }): void;
  peerClosed(peerId: string): void;
  stop(): Promise<void>;
}

/**
 * Keeps this relay's row in the relays table fresh (the edge only picks relays
 * with a recent heartbeat and room left) and its open peers in relay_peers
 * (the edge counts them for a key's concurrency limit). Database failures are
 * logged and retried on the next beat; they never affect measuring.
 */
export async function startRegistry(
  db: Db,
  log: Logger,
  opts: { relay: Omit<RelayRecord, 'active_sessions' | 'last_heartbeat' | 'started_at'>; activeSessions: () => number; heartbeatMs: number },
): Promise<Registry> {
  const startedAt = Date.now();
  const record = (heartbeat: number): RelayRecord => ({ ...opts.relay, active_sessions: opts.activeSessions(), last_heartbeat: heartbeat, started_at: startedAt });
  // Peers left open by an earlier run of this relay are gone.
  await closeAllRelayPeers(db, opts.relay.id);
  await upsertRelay(db, record(Date.now()));
  let failing = false;
  const beat = async () => {
    try {
      await upsertRelay(db, record(Date.now()));
      if (failing) log('info', 'relay heartbeat resumed');
      failing = false;
    } catch (e) {
      if (!failing) log('warn', 'relay heartbeat failed', { error: String((e as Error).message ?? e) });
      failing = true;
    }
  };
  const timer = setInterval(() => void beat(), opts.heartbeatMs);
  // Peer rows are written in order: a close racing ahead of its open would leave the row open forever.
  let chain: Promise<unknown> = Promise.resolve();
  const inOrder = (write: () => Promise<unknown>, what: string) => {
    chain = chain.then(write).catch((e: unknown) => log('warn', `${what} failed`, { error: String((e as Error).message ?? e) }));
  };
  return {
    peerOpened: (p) => inOrder(() => openRelayPeer(db, p), 'recording an open peer'),
    peerClosed: (id) => inOrder(() => closeRelayPeer(db, id), 'recording a closed peer'),
    async stop() {
      clearInterval(timer);
      await chain;
      // A heartbeat of 0 takes the relay out of the edge's choice at once.
      await upsertRelay(db, record(0)).catch(() => undefined);
      await closeAllRelayPeers(db, opts.relay.id).catch(() => undefined);
    },
  };
}
