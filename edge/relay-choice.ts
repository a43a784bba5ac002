import type { Db } from '../shared/db/client.js';
import { availableRelays, type RelayRecord } from '../shared/db/relays.js';
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

/**
 * Orders candidate relays: those with a public address of the client's family first (when it is known: a relay
 * without one cannot reach it), then preferred regions (in the map's order), then the rest; within a rank, the
 * order they came in (least loaded first).
 */
export function rankRelays(relays: readonly RelayRecord[], preferred: readonly string[], family?: IpFamily): RelayRecord[] {
  const rank = (r: RelayRecord) => {
    const i = preferred.indexOf(r.region);
    return i < 0 ? preferred.length : i;
  };
  const lacksFamily = (r: RelayRecord) => (family && r.public_addresses && !r.public_addresses.some((a) => a.family === family) ? 1 : 0);
  return relays
    .map((r, i) => ({ r, i, rank: rank(r), lacks: lacksFamily(r) }))
    .sort((a, b) => a.lacks - b.lacks || a.rank - b.rank || a.i - b.i)
    .map((x) => x.r);
}

/** Relays with a fresh heartbeat and room (https ones only outside local mode), best first for this client (possibly none). */
export async function candidateRelays(
  db: Db,
  opts: { freshMs: number; regionMap: Record<string, string[]>; place: ClientPlace | undefined; mode: 'local' | 'deployed'; family?: IpFamily; now?: number },
): Promise<RelayRecord[]> {
  const relays = httpsRelaysOnly(await availableRelays(db, (opts.now ?? Date.now()) - opts.freshMs), opts.mode);
  return rankRelays(relays, preferredRegions(opts.regionMap, opts.place), opts.family);
}
