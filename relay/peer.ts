import nodeDataChannel, { type PeerConnection } from 'node-datachannel';
import { ipFamily } from '../shared/ip-family.js';
import { withoutCandidates } from '../shared/sdp.js';

export interface PeerOptions {
  bindAddress: string;
  udpPort: number;
  /** Addresses clients reach the UDP port at; the answer holds one candidate for each (see withPublicCandidates). */
  publicAddresses?: readonly string[];
  gatherTimeoutMs: number;
}

/** An offer the relay cannot take (malformed SDP, no data channel section). */
export class BadOfferError extends Error {}

/**
 * Creates the relay's side of a peer connection from a client's offer and
 * returns it with its answer. Every peer shares one UDP port (ICE UDP mux),
 * as a relay behind a firewall needs; the answer is taken only after
 * gathering completes (or times out), so it already holds the candidates.
 *
 * The relay applies the offer without the client's candidates, so it sends no
 * connectivity check of its own: it answers the client's checks (learning the
 * client's address from them, as an ICE-lite server does). A relay that checks
 * first reaches the client before the client has applied the answer, and
 * libdatachannel (the headless client's stack) then connects ICE inside
 * setRemoteDescription before it stores the answer's fingerprint: its DTLS
 * refuses the relay's certificate ("unknown CA"), both peers fail, and the
 * client throws "remote candidate without ICE transport". A relay is at a known
 * address, so it never needs to reach the client first.
 */
export async function answerOffer(name: string, offerSdp: string, opts: PeerOptions): Promise<{ pc: PeerConnection; sdp: string }> {
  if (!/^v=0/m.test(offerSdp) || !/^m=application /m.test(offerSdp)) {
    throw new BadOfferError('sdp: not an SDP offer with a data channel (m=application) section');
  }
  const pc = new nodeDataChannel.PeerConnection(name, muxConfig(opts));
  try {
    const gathered = gatheringDone(pc, opts.gatherTimeoutMs);
    try {
      pc.setRemoteDescription(withoutCandidates(offerSdp), 'offer');
    } catch (e) {
      const message = (e as Error).message;
      // Only a refusal of the SDP itself is the client's fault; gathering on the relay's port is the relay's.
      if (/gather|ICE transport initialization/i.test(message)) throw new Error(`the relay could not use its UDP port ${opts.udpPort}: ${message}`);
      throw new BadOfferError(`sdp: ${message}`);
    }
    await gathered;
    const local = pc.localDescription();
    if (!local) throw new Error('no local description after gathering');
    if (!/^a=candidate:/m.test(local.sdp)) throw new Error(`the relay gathered no candidate on UDP port ${opts.udpPort || '(any)'} within ${opts.gatherTimeoutMs} ms`);
    return { pc, sdp: opts.publicAddresses?.length ? withPublicCandidates(local.sdp, opts.publicAddresses) : local.sdp };
  } catch (e) {
    pc.close();
    throw e;
  }
}

/** The offer without its candidate lines (see answerOffer). */
export { withoutCandidates };

/** Whether a trickled candidate is well-formed (`candidate:<foundation> <component> <transport> <priority> <address> <port> typ <type> ...`). */
export function isCandidate(candidate: string): boolean {
  return /^(a=)?candidate:\S+ \d+ (udp|tcp) \d+ \S+ \d+ typ (host|srflx|prflx|relay)( .*)?$/i.test(candidate.trim());
}

/** Holds the relay's UDP port while the relay lives. */
export interface PortHold {
  /** The host addresses gathered on it (every interface's for a wildcard bind address). */
  addresses: string[];
  close(): void;
}

/**
 * Binds the relay's UDP port for as long as the relay runs. libjuice opens the
 * mux socket with the first peer and closes it when the last one goes, so
 * between surveys the port was free: any process on the host (the kernel hands
 * out ports in that range to every `bind(0)`, a headless client's included)
 * could take it, and the next offer then failed with "Failed to gather local
 * ICE candidates". A peer that never connects keeps the socket open, and a
 * port already taken fails the relay's start instead of a later offer.
 */
export async function holdUdpPort(opts: Omit<PeerOptions, 'publicAddresses'>): Promise<PortHold> {
  const pc = new nodeDataChannel.PeerConnection('udp-port-hold', muxConfig(opts));
  try {
    const gathered = gatheringDone(pc, opts.gatherTimeoutMs);
    const taken = (why: string) => new Error(`cannot bind the relay's UDP port ${opts.bindAddress}:${opts.udpPort} (RELAY_UDP_PORT): ${why}`);
    try {
      // A data channel makes an offer, and the offer starts gathering, which binds the port.
      pc.createDataChannel('hold');
    } catch (e) {
      throw taken(`${(e as Error).message}; is another process using it?`);
    }
    await gathered;
    const addresses = hostCandidates(pc.localDescription()?.sdp ?? '')
      .filter((c) => c.port === opts.udpPort)
      .map((c) => c.address);
    if (addresses.length === 0) throw taken('no candidate on it');
    return { addresses, close: () => pc.close() };
  } catch (e) {
    pc.close();
    throw e;
  }
}

/** The address and port of each host candidate line of `sdp`. */
export function hostCandidates(sdp: string): { address: string; port: number }[] {
  return sdp
    .split(/\r?\n/)
    .filter((line) => line.startsWith('a=candidate:'))
    .map((line) => line.split(' '))
    .filter((parts) => parts[7] === 'host')
    .map((parts) => ({ address: parts[4] ?? '', port: Number(parts[5]) }));
}

function muxConfig(opts: Pick<PeerOptions, 'bindAddress' | 'udpPort'>) {
  // Port 0: a socket of the peer's own on an ephemeral port (a throughput test's load connection).
  if (opts.udpPort === 0) return { iceServers: [], bindAddress: opts.bindAddress };
  return {
    iceServers: [],
    bindAddress: opts.bindAddress,
    enableIceUdpMux: true,
    portRangeBegin: opts.udpPort,
    portRangeEnd: opts.udpPort,
  };
}

/**
 * Puts one host candidate per public address in place of the gathered ones (1:1 NAT in front of the relay, or
 * addresses of both families on a dual-stack socket): every peer uses the one UDP port, so each candidate is that
 * port at one public address, preferred in the list's order; the c= line names the first, with its family.
 */
export function withPublicCandidates(sdp: string, publicAddresses: readonly string[]): string {
  const lines = sdp.split('\r\n');
  const first = lines.findIndex((line) => line.startsWith('a=candidate:'));
  const port = hostCandidates(sdp)[0]?.port;
  if (first < 0 || port === undefined || publicAddresses.length === 0) return sdp;
  // RFC 8445 §5.1.2.1: type preference 126 (host), local preference falling with the list, component 1.
  const candidates = publicAddresses.map((address, i) => `a=candidate:${i + 1} 1 UDP ${126 * 2 ** 24 + (65535 - i) * 2 ** 8 + 255} ${address} ${port} typ host`);
  const connection = `c=IN ${ipFamily(publicAddresses[0]!) === 'ipv6' ? 'IP6' : 'IP4'} ${publicAddresses[0]}`;
  return [...lines.slice(0, first), ...candidates, ...lines.slice(first)]
    .filter((line, i) => i < first + candidates.length || !line.startsWith('a=candidate:'))
    .map((line) => (line.startsWith('c=IN ') ? connection : line))
    .join('\r\n');
}

/** Resolves once `pc` has gathered its candidates, or after `timeoutMs` with what it has. */
function gatheringDone(pc: PeerConnection, timeoutMs: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, timeoutMs);
    pc.onGatheringStateChange((state) => {
      if (state === 'complete') {
        clearTimeout(timer);
        resolve();
      }
    });
  });
}
