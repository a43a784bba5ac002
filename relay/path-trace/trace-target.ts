// Where a trace may go: only the connection's own peer, as ICE selected it. Nothing a client sends is read here.
import { isIP } from 'node:net';
import type { PeerConnection } from 'node-datachannel';

export interface TraceTarget {
  address: string;
  port: number;
  family: 4 | 6;
}

/** The selected candidate pair's remote address and port; null before ICE selected one or when it is not an IP literal. */
export function traceTarget(pc: Pick<PeerConnection, 'getSelectedCandidatePair'>): TraceTarget | null {
  let pair;
  try {
    pair = pc.getSelectedCandidatePair();
  } catch {
    return null;
  }
  const remote = pair?.remote;
  if (!remote) return null;
  const family = isIP(remote.address);
  if (family === 0 || !Number.isInteger(remote.port) || remote.port <= 0 || remote.port > 65535) return null;
  return { address: remote.address, port: remote.port, family: family as 4 | 6 };
}
