import type { Db } from '../shared/db/client.js';
import type { BreakerPolicy } from '../shared/db/relay-health.js';
import { relayCandidateFrom, type RelayCandidate } from '../shared/db/relays.js';
import { rankedRelaysStatement, type RelayRanking } from '../shared/db/relay-ranking.js';
import { ipFamily, type IpFamily } from '../shared/ip-family.js';
import { httpsRelaysOnly } from './relay-https.js';

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

/** The client's address family as the request shows it (Cloudflare's CF-Connecting-IP, when trusted as clientAddress does); undefined when it does not. */
export function requestFamily(req: Request, config: { trustClientAddressHeader: boolean }): IpFamily | undefined {
  const ip = config.trustClientAddressHeader ? req.headers.get('cf-connecting-ip')?.trim() : undefined;
  return ip ? ipFamily(ip) : undefined;
}

/** What ranks relays for a client (see RelayRanking), from the edge's settings and what the request shows. */
export function relayRanking(
  opts: { freshMs: number; breaker: BreakerPolicy; regionMap: Record<string, string[]>; place: ClientPlace | undefined; mode: 'local' | 'deployed'; family?: IpFamily; skip?: string | null },
  now: number,
): RelayRanking {
  return {
    freshSince: now - opts.freshMs,
    breaker: opts.breaker,
    now,
    preferred: preferredRegions(opts.regionMap, opts.place),
    family: opts.family,
    httpsOnly: opts.mode !== 'local',
    skip: opts.skip,
  };
}

/**
 * Ready relays with a fresh heartbeat and room that the breaker does not skip (https ones only outside local mode),
 * best first for this client (possibly none): see rankedRelaysStatement for the order.
 */
export async function candidateRelays(
  db: Db,
  opts: {
    freshMs: number;
    breaker: BreakerPolicy;
    regionMap: Record<string, string[]>;
    place: ClientPlace | undefined;
    mode: 'local' | 'deployed';
    family?: IpFamily;
    now?: number;
  },
): Promise<RelayCandidate[]> {
  const rs = await db.execute(rankedRelaysStatement(relayRanking(opts, opts.now ?? Date.now())));
  return httpsRelaysOnly(rs.rows.map((row) => relayCandidateFrom(row as unknown as Record<string, unknown>)), opts.mode);
}
