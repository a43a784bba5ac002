import nodeDataChannel, { type PeerConnection } from 'node-datachannel';

export interface PeerOptions {
  bindAddress: string;
  udpPort: number;
  publicAddress?: string;
  gatherTimeoutMs: number;
}

/** An offer the relay cannot take (malformed SDP, no data channel section). */
export class BadOfferError extends Error {}

/**
 * Creates the relay's side of a peer connection from a client's offer and
 * returns it with its answer. Every peer shares one UDP port (ICE UDP mux),
 * as a relay behind a firewall needs; the answer is taken only after
 * gathering completes (or times out), so it already holds the candidates.
 */
export async function answerOffer(name: string, offerSdp: string, opts: PeerOptions): Promise<{ pc: PeerConnection; sdp: string }> {
  if (!/^v=0/m.test(offerSdp) || !/^m=application /m.test(offerSdp)) {
    throw new BadOfferError('sdp: not an SDP offer with a data channel (m=application) section');
  }
  const pc = new nodeDataChannel.PeerConnection(name, {
    iceServers: [],
    bindAddress: opts.bindAddress,
    enableIceUdpMux: true,
    portRangeBegin: opts.udpPort,
    portRangeEnd: opts.udpPort,
  });
  try {
    const gathered = new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, opts.gatherTimeoutMs);
      pc.onGatheringStateChange((state) => {
        if (state === 'complete') {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    try {
      pc.setRemoteDescription(offerSdp, 'offer');
    } catch (e) {
      throw new BadOfferError(`sdp: ${(e as Error).message}`);
    }
    await gathered;
    const local = pc.localDescription();
    if (!local) throw new Error('no local description after gathering');
    return { pc, sdp: opts.publicAddress ? rewriteHostCandidates(local.sdp, opts.bindAddress, opts.publicAddress) : local.sdp };
  } catch (e) {
    pc.close();
    throw e;
  }
}

/** Puts the public address in place of the bind address in host candidates (1:1 NAT in front of the relay). */
export function rewriteHostCandidates(sdp: string, bindAddress: string, publicAddress: string): string {
  return sdp
    .split('\r\n')
    .map((line) => {
      if (!line.startsWith('a=candidate:')) return line;
      const parts = line.split(' ');
      if (parts[4] === bindAddress || bindAddress === '0.0.0.0' || bindAddress === '::') parts[4] = publicAddress;
      return parts.join(' ');
    })
    .join('\r\n');
}
