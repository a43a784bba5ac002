// Which address families the headless client can measure from (issue 22 `--family`): a family counts when this
// machine has an address of it that can leave the host — not loopback, not IPv6 link-local — or, toward an edge
// on loopback (local mode), a loopback address of it.
import { networkInterfaces, type NetworkInterfaceInfo } from 'node:os';
import type { IpFamily } from '../shared/ip-family.js';

/** What `--family` asks for: one family, both, or (not given) the default. */
export type FamilyChoice = 'v4' | 'v6' | 'both';

const NAMES: Record<IpFamily, string> = { ipv4: 'IPv4', ipv6: 'IPv6' };

/** Whether an interface address can carry this client's traffic toward the edge. */
function usable(a: NetworkInterfaceInfo, loopbackEdge: boolean): boolean {
  if (a.internal) return loopbackEdge;
  return !(a.family === 'IPv6' && /^fe[89ab]/i.test(a.address));
}

/** The families this machine has a usable address of (see usable). */
export function familiesOfHost(loopbackEdge: boolean, interfaces: NodeJS.Dict<NetworkInterfaceInfo[]> = networkInterfaces()): Set<IpFamily> {
  const out = new Set<IpFamily>();
  for (const list of Object.values(interfaces)) for (const a of list ?? []) if (usable(a, loopbackEdge)) out.add(a.family === 'IPv6' ? 'ipv6' : 'ipv4');
  return out;
}

/**
 * The families a survey is held to and those asked for that this machine lacks (with why). Not asked (`choice`
 * undefined): toward a loopback edge, none (one connection set as before, on whatever ICE picks); elsewhere,
 * both where the machine has both, else none.
 */
export function chooseFamilies(
  choice: FamilyChoice | undefined,
  have: ReadonlySet<IpFamily>,
  loopbackEdge: boolean,
): { families: IpFamily[] | undefined; missing: { family: IpFamily; reason: string }[] } {
  if (choice === undefined) return { families: !loopbackEdge && have.size === 2 ? ['ipv4', 'ipv6'] : undefined, missing: [] };
  const wanted: IpFamily[] = choice === 'both' ? ['ipv4', 'ipv6'] : [choice === 'v4' ? 'ipv4' : 'ipv6'];
  return {
    families: wanted.filter((f) => have.has(f)),
    missing: wanted.filter((f) => !have.has(f)).map((family) => ({ family, reason: `this machine has no ${NAMES[family]} address to measure from` })),
  };
}

/** Whether an edge URL's host is a loopback address or name. */
export function isLoopbackUrl(url: string): boolean {
  const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}
