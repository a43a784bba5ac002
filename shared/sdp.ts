import { ipFamily, type IpFamily } from './ip-family.js';

/** An SDP without its candidate lines; `a=end-of-candidates` stays, so the reader knows none will follow. */
export function withoutCandidates(sdp: string): string {
  return sdp
    .split(/\r?\n/)
    .filter((line) => !line.startsWith('a=candidate:'))
    .join('\r\n');
}

/** The address of a candidate (`candidate:<foundation> <component> <transport> <priority> <address> <port> typ ...`, with or without `a=`), or null. */
export function candidateAddress(candidate: string): string | null {
  const parts = candidate.trim().split(/\s+/);
  return parts.length >= 8 && /^(a=)?candidate:/.test(parts[0]!) ? parts[4]! : null;
}

/** Whether a candidate is of `family`; an mDNS name (`*.local`) has no family it could be held to, so it is not. */
export function candidateOfFamily(candidate: string, family: IpFamily): boolean {
  const address = candidateAddress(candidate);
  if (address === null || address.endsWith('.local')) return false;
  return ipFamily(address) === family;
}

/**
 * The SDP with only its candidates of `family` (issue 22: each connection's ICE is held to one family), the c= lines
 * naming the first kept candidate's address (or the family's unspecified address when none is kept).
 */
export function candidatesOfFamily(sdp: string, family: IpFamily): string {
  const lines = sdp.split(/\r?\n/);
  const kept = lines.filter((line) => !line.startsWith('a=candidate:') || candidateOfFamily(line, family));
  const first = kept.find((line) => line.startsWith('a=candidate:'));
  const address = first ? candidateAddress(first)! : family === 'ipv6' ? '::' : '0.0.0.0';
  const connection = `c=IN ${family === 'ipv6' ? 'IP6' : 'IP4'} ${address}`;
  return kept.map((line) => (line.startsWith('c=IN ') ? connection : line)).join('\r\n');
}

/** Whether an SDP holds at least one candidate line. */
export function hasCandidates(sdp: string): boolean {
  return /^a=candidate:/m.test(sdp);
}
