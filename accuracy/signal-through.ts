// Signaling that leaves the forwarder as the only path between the client and the relay.
import type { Signal } from '../client/signaling.js';

const splitLines = (sdp: string) => sdp.split(/\r?\n/);
const joinLines = (lines: string[]) => lines.join('\r\n');

/** The offer without the client's own candidates: the relay can then learn the client's address only from checks that reach it. */
export function stripCandidates(sdp: string): string {
  return joinLines(splitLines(sdp).filter((l) => !l.startsWith('a=candidate:')));
}

/** Every UDP candidate in `sdp` moved to `to` (the forwarder's client-facing socket); other transports are left out, repeats dropped. */
export function pointCandidatesAt(sdp: string, to: { ip: string; port: number }): string {
  const out: string[] = [];
  const seen = new Set<string>();
  for (const line of splitLines(sdp)) {
    if (!line.startsWith('a=candidate:')) {
      out.push(line);
      continue;
    }
    const parts = line.split(' ');
    if (parts[2]?.toUpperCase() !== 'UDP') continue;
    parts[4] = to.ip;
    parts[5] = String(to.port);
    // Nothing after the type: raddr/rport would name the relay's own addresses.
    const typ = parts.indexOf('typ');
    const key = `${parts[1]} ${to.ip} ${to.port}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(parts.slice(0, typ >= 0 ? typ + 2 : parts.length).join(' '));
  }
  if (seen.size === 0) throw new Error('the relay answered without a UDP candidate');
  return joinLines(out);
}

/** Wraps a signal so the offer carries no client candidate and the answer's candidates all point at the forwarder. */
export function signalThrough(inner: Signal, forwarder: { ip: string; port: number }): Signal {
  return async (offer) => {
    const answer = await inner({ ...offer, sdp: stripCandidates(offer.sdp) });
    return { ...answer, sdp: pointCandidatesAt(answer.sdp, forwarder) };
  };
}
