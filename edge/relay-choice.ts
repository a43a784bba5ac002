import type { Db } from '../shared/db/client.js';
import type { BreakerPolicy } from '../shared/db/relay-health.js';
import { availableRelays, type RelayCandidate, type RelayRecord } from '../shared/db/relays.js';

/** What the edge knows of where a client is (Cloudflare's `request.cf`). */
export interface ClientPlace {
  colo?: string;
  continent?: string;
}

/** Relay regions to prefer for a client, best first: its colo's entry, else its continent's, else "*". */
export function preferredRegions(map: Record<string, string[]>, place: ClientPlace | undefined): string[] {
  const pick = (k: string | undefined) => (k ? map[k] : undefined);
  return pick(place?.colo) ?? pick(place?.continent) ?? map['*'] ?? [];
}

/**
 * Orders candidate relays: preferred regions first (in the map's order),
 * then the rest; within a rank, the order they came in (least loaded first).
 */
export function rankRelays<R extends RelayRecord>(relays: readonly R[], preferred: readonly string[]): R[] {
  const rank = (r: R) => {
    const i = preferred.indexOf(r.region);
    return i < 0 ? preferred.length : i;
  };
  return relays
    .map((r, i) => ({ r, i, rank: rank(r) }))
    .sort((a, b) => a.rank - b.rank || a.i - b.i)
    .map((x) => x.r);
}

/** Ready relays with a fresh heartbeat and room that the breaker does not skip, best first for this client (possibly none). */
export async function candidateRelays(
  db: Db,
  opts: { freshMs: number; breaker: BreakerPolicy; regionMap: Record<string, string[]>; place: ClientPlace | undefined; now?: number },
): Promise<RelayCandidate[]> {
  const now = opts.now ?? Date.now();
  const relays = rankRelays(await availableRelays(db, now - opts.freshMs, opts.breaker, now), preferredRegions(opts.regionMap, opts.place));
  // A relay whose last call or connection failed (short of the breaker's count), or that holds answered peers that
  // have not opened for seconds, goes after every other, whatever its region: it gets a client only when no other can take one.
  const suspect = (r: RelayCandidate) => (r.consecutive_failures > 0 && r.consecutive_failures < opts.breaker.failures) || r.unopened_peers > 0;
  return [...relays.filter((r) => !suspect(r)), ...relays.filter(suspect)];
}
