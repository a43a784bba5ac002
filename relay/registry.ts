import type { Db } from '../shared/db/client.js';
import { closeAllRelayPeers, closeLeftoverPeers, closeRelayPeer, closeStrayPeers, openRelayPeer, upsertRelay, type RelayPeer, type RelayRecord } from '../shared/db/relays.js';
import { hostPort, ipFamily } from '../shared/ip-family.js';
import type { Logger } from './log.js';

export interface Registry {
  /** Records an open peer; resolves once written (or failed, logged). */
  peerOpened(p: RelayPeer): Promise<void>;
  peerClosed(p: RelayPeer): Promise<void>;
  stop(): Promise<void>;
}

/** The relay's public addresses as its row holds them: the list with families, and the first as `address:port`. */
export function registeredAddresses(addresses: readonly string[], udpPort: number): Pick<RelayRecord, 'public_address' | 'public_addresses'> {
  return {
    public_address: hostPort(addresses[0] ?? '', udpPort),
    public_addresses: addresses.map((address) => ({ address, family: ipFamily(address) })),
  };
}

/** How often the relay looks for open peer rows it does not hold, and how old such a row must be (an edge's call takes seconds at most). */
const STRAY_SWEEP_EVERY_MS = 30_000;
const STRAY_AFTER_MS = 60_000;

/**
 * Keeps this relay's row in the relays table fresh (the edge only picks relays
 * with a recent heartbeat and room left) and its open peers in relay_peers
 * (the edge counts them for a key's concurrency limit). Database failures are
 * logged and retried on the next beat; they never affect measuring.
 */
export async function startRegistry(
  db: Db,
  log: Logger,
  opts: {
    relay: Omit<RelayRecord, 'active_sessions' | 'last_heartbeat' | 'started_at'>;
    activeSessions: () => number;
    /** The peers this relay holds: open rows of others are strays (see closeStrayPeers). */
    livePeerIds?: () => string[];
    heartbeatMs: number;
  },
): Promise<Registry> {
  const startedAt = Date.now();
  const record = (heartbeat: number): RelayRecord => ({ ...opts.relay, active_sessions: opts.activeSessions(), last_heartbeat: heartbeat, started_at: startedAt });
  // Peers left open by an earlier run of this relay are gone, and so are their surveys (it died without ending them).
  const ended = await closeLeftoverPeers(db, opts.relay.id);
  if (ended > 0) log('warn', 'surveys left live by an earlier run of this relay ended as relay_restart', { surveys: ended });
  await upsertRelay(db, record(Date.now()));
  let failing = false;
  let lastSweep = Date.now();
  const beat = async () => {
    try {
      await upsertRelay(db, record(Date.now()));
      if (failing) log('info', 'relay heartbeat resumed');
      failing = false;
    } catch (e) {
      if (!failing) log('warn', 'relay heartbeat failed', { error: String((e as Error).message ?? e) });
      failing = true;
    }
    if (failing || !opts.livePeerIds || Date.now() - lastSweep < STRAY_SWEEP_EVERY_MS) return;
    lastSweep = Date.now();
    try {
      const closed = await closeStrayPeers(db, opts.relay.id, opts.livePeerIds(), Date.now() - STRAY_AFTER_MS);
      if (closed > 0) log('warn', 'closed peer rows this relay does not hold (reservations never released)', { closed });
    } catch (e) {
      log('warn', 'closing stray peer rows failed; tried again later', { error: String((e as Error).message ?? e) });
    }
  };
  const timer = setInterval(() => void beat(), opts.heartbeatMs);
  // Writes in flight, so stop() can wait for them; open and close may land in either order (closeRelayPeer upserts).
  const pending = new Set<Promise<void>>();
  const track = (write: Promise<unknown>, what: string): Promise<void> => {
    const p = write.then(
      () => undefined,
      (e: unknown) => log('warn', `${what} failed`, { error: String((e as Error).message ?? e) }),
    );
    pending.add(p);
    void p.finally(() => pending.delete(p));
    return p;
  };
  return {
    peerOpened: (p) => track(openRelayPeer(db, p), 'recording an open peer'),
    peerClosed: (p) => track(closeRelayPeer(db, p), 'recording a closed peer'),
    async stop() {
      clearInterval(timer);
      await Promise.all(pending);
      // A heartbeat of 0 takes the relay out of the edge's choice at once.
      await upsertRelay(db, record(0)).catch(() => undefined);
      await closeAllRelayPeers(db, opts.relay.id).catch(() => undefined);
    },
  };
}
