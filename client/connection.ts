import type { IpFamily } from '../shared/ip-family.js';
import { candidatesOfFamily, hasCandidates, withoutCandidates } from '../shared/sdp.js';
import { SurveyError, type Signal } from './signaling.js';

/** The three data channels of PROTOCOL.md §2. */
export interface Channels {
  probe: RTCDataChannel;
  bulk: RTCDataChannel;
  control: RTCDataChannel;
}

export interface Connection {
  pc: RTCPeerConnection;
  channels: Channels;
  connId: string;
  sessionId: string;
  relayId: string;
  /** What the connection was made with: the throughput test's load connection takes the same path. */
  config: RTCConfiguration;
  /** The family it is held to and its path within it (issue 22); absent for a connection that named none. */
  family?: IpFamily;
  pathIndex?: number;
  /** The address pair ICE selected, this client's side first; null when the WebRTC stack does not report it. */
  pair: SelectedPair | null;
  close(): void;
}

/** Both ends of the selected candidate pair. */
export interface SelectedPair {
  local: { address: string; port: number; type: string };
  remote: { address: string; port: number; type: string };
}

export interface ConnectOptions {
  RTCPeerConnection: typeof RTCPeerConnection;
  signal: Signal;
  connId: string;
  /** Gather with these instead of the ones `signal.iceServers` gives. */
  iceServers?: RTCIceServer[];
  /** 'relay': only TURN-relayed paths, as for a network that blocks direct UDP. */
  iceTransportPolicy?: RTCIceTransportPolicy;
  /** Gathering and channel opening must finish within this. */
  iceTimeoutMs: number;
  /**
   * A relay whose answer has not connected (ICE and DTLS) within this is given up, and the client signals again
   * naming the failed attempt (`retry_of`), so the edge sends it elsewhere; default DEFAULT_CONNECT_TIMEOUT_MS.
   */
  connectTimeoutMs?: number;
  /** Holds the connection's ICE to one family: only its candidates are offered, and only its candidates of the answer used. */
  family?: IpFamily;
  /** The connection's path within its family, told to the edge (stored with its rows). */
  pathIndex?: number;
  /** On a survey's first connection: how many it opens at once, so the edge refuses a survey the key cannot hold whole. */
  plannedConnections?: number;
}

/** How long a direct connection to a relay may take to connect before the client tries another relay: a few round trips on any real path. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 1_500;

/** Relays tried for one connection: the first and two others, as the edge tries up to 3 relays per signaling. */
const RELAY_ATTEMPTS = 3;

/** An answered attempt whose connection did not come up in time: another relay may serve. */
class NotConnected extends Error {
  constructor(
    readonly sessionId: string,
    readonly failure: SurveyError,
  ) {
    super(failure.message);
  }
}

/**
 * Opens one peer connection with the three channels: offer, gather every
 * candidate (so no trickling is needed), signal, and wait until all three
 * channels are open. An answer that does not connect within the connect
 * bound (a relay whose UDP port is unreachable) is given up at once and the
 * client signals again, naming it, up to RELAY_ATTEMPTS relays: the edge
 * records that relay's failure and sends the client elsewhere. Any other
 * failure is final: it is thrown as a SurveyError that says what went wrong
 * (a retry would hide a fault, not fix it).
 */
export async function openConnection(opts: ConnectOptions): Promise<Connection> {
  const iceServers = opts.iceServers ?? (await opts.signal.iceServers?.()) ?? [];
  if (opts.iceTransportPolicy === 'relay' && !iceServers.some(isTurn)) {
    throw new SurveyError('ice_failed', 'a relay-only connection needs a TURN server, and none is configured (TURN_SECRET and TURN_URLS on the edge)');
  }
  let retryOf: string | undefined;
  for (let attempt = 1; ; attempt++) {
    // A retry is a new connection on another relay, so it gets an id of its own (the failed one may still be live there).
    const connId = attempt === 1 ? opts.connId : crypto.randomUUID();
    try {
      return await connectOnce(opts, iceServers, connId, retryOf, attempt < RELAY_ATTEMPTS, attempt === 1);
    } catch (e) {
      // No other relay to go to (a region with one relay): a slow network, not a dead relay, is the likelier cause,
      // so the client asks again without naming the slow one and gives that connection the whole ICE bound.
      if (retryOf !== undefined && e instanceof SurveyError && (e.code === 'no_relay' || e.code === 'relay_failed')) {
        return connectOnce(opts, iceServers, crypto.randomUUID(), undefined, false, false);
      }
      if (!(e instanceof NotConnected)) throw e;
      if (attempt >= RELAY_ATTEMPTS) throw e.failure;
      retryOf = e.sessionId;
    }
  }
}

/** One offer, one answer, one connection; throws NotConnected when the answer did not connect within the bound and `mayRetry`. */
async function connectOnce(opts: ConnectOptions, iceServers: RTCIceServer[], connId: string, retryOf: string | undefined, mayRetry: boolean, first: boolean): Promise<Connection> {
  const family = opts.family;
  const relayOnly = opts.iceTransportPolicy === 'relay';
  const config: RTCConfiguration = { iceServers, iceTransportPolicy: opts.iceTransportPolicy ?? 'all' };
  const pc = new opts.RTCPeerConnection(config);
  try {
    const channels: Channels = {
      probe: pc.createDataChannel('probe', { ordered: false, maxRetransmits: 0 }),
      bulk: pc.createDataChannel('bulk', { ordered: false, maxRetransmits: 0 }),
      control: pc.createDataChannel('control', { ordered: true }),
    };
    channels.bulk.binaryType = 'arraybuffer';
    await pc.setLocalDescription(await pc.createOffer());
    await withTimeout(gatheringComplete(pc), opts.iceTimeoutMs, relayOnly ? turnNoAllocation() : new SurveyError('ice_timeout', 'gathering network candidates took too long'));
    const gathered = pc.localDescription?.sdp;
    if (!gathered) throw new SurveyError('ice_timeout', 'no local description');
    // Held to one family: the other family's candidates are never offered (issue 22).
    const offerSdp = family ? candidatesOfFamily(gathered, family) : gathered;
    if (family && !relayOnly && !hasCandidates(offerSdp)) throw new SurveyError('family_unavailable', `this client has no ${family === 'ipv4' ? 'IPv4' : 'IPv6'} address to connect from (it gathered no ${family} candidate)`);
    // Relay-only gathering yields nothing but TURN allocations: none means the TURN server said no or never answered.
    if (relayOnly && !/ typ relay/.test(offerSdp)) throw turnNoAllocation();
    const answer = await opts.signal({
      sdp: offerSdp,
      type: 'offer',
      conn_id: connId,
      ...(retryOf ? { retry_of: retryOf } : {}),
      ...(family ? { family } : {}),
      ...(opts.pathIndex !== undefined ? { path_index: opts.pathIndex } : {}),
      ...(first && opts.plannedConnections !== undefined ? { planned_connections: opts.plannedConnections } : {}),
    });
    // ...and the answer's candidates of the other family are never checked.
    const answerSdp = family ? candidatesOfFamily(answer.sdp, family) : answer.sdp;
    if (family && !hasCandidates(answerSdp)) throw new SurveyError('family_unavailable', `the measurement server offered no ${family === 'ipv4' ? 'IPv4' : 'IPv6'} address`);
    try {
      await pc.setRemoteDescription({ type: 'answer', sdp: answerSdp });
    } catch (e) {
      throw new SurveyError('ice_failed', `this client's WebRTC stack refused the measurement server's answer: ${(e as Error)?.message ?? String(e)}`);
    }
    const failed = relayOnly ? turnNoPath() : new SurveyError('ice_timeout', 'the connection to the measurement server failed (no network path, or the secure handshake failed)');
    const late = relayOnly ? turnNoPath() : new SurveyError('ice_timeout', 'could not connect to the measurement server in time (a firewall may block UDP)');
    // Not through TURN: a relayed path's extra legs are the network's, not the relay's fault.
    if (mayRetry && !relayOnly) {
      try {
        await withTimeout(Promise.race([peerConnected(pc), peerFailed(pc, failed)]), opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS, late);
      } catch (e) {
        throw new NotConnected(answer.session_id, e as SurveyError);
      }
    }
    await withTimeout(Promise.race([Promise.all(Object.values(channels).map(channelOpen)), peerFailed(pc, failed)]), opts.iceTimeoutMs, late);
    // Relay-only must never measure a direct path. node-datachannel (libjuice) announces only relayed
    // candidates but still runs connectivity checks from its own socket, and takes the direct path when it works.
    const via = relayOnly ? await selectedLocalCandidateType(pc) : null;
    if (via !== null && via !== 'relay') {
      throw new SurveyError(
        'relay_not_enforced',
        `relay-only was asked for, but this WebRTC implementation connected directly (${via} candidate), not through the TURN server; the TURN server did allocate an address. node-datachannel does not enforce relay-only: use a browser, or a network that blocks direct UDP`,
      );
    }
    return {
      pc,
      channels,
      connId,
      sessionId: answer.session_id,
      relayId: answer.relay_id,
      config,
      ...(family ? { family } : {}),
      ...(opts.pathIndex !== undefined ? { pathIndex: opts.pathIndex } : {}),
      pair: await selectedPair(pc).catch(() => null),
      close: () => closeQuietly(pc),
    };
  } catch (e) {
    closeQuietly(pc);
    throw e;
  }
}

/** The throughput test's own peer connection: one `bulk` channel, apart from the probes' association. */
export interface LoadConnection {
  pc: RTCPeerConnection;
  bulk: RTCDataChannel;
  close(): void;
}

/**
 * Opens the load connection of a throughput test (PROTOCOL v3) on the path of
 * `of`: offer, gather, hand the offer without its candidate lines to
 * `exchange` (the control channel carries it; the relay never uses a client's
 * candidates, it answers its checks), apply the answer, wait for the channel.
 * Closes the peer on any failure, thrown as a SurveyError in words.
 */
export async function openLoadConnection(opts: {
  RTCPeerConnection: typeof RTCPeerConnection;
  of: Connection;
  iceTimeoutMs: number;
  exchange: (offerSdp: string) => Promise<string>;
}): Promise<LoadConnection> {
  const pc = new opts.RTCPeerConnection(opts.of.config);
  try {
    const bulk = pc.createDataChannel('bulk', { ordered: false, maxRetransmits: 0 });
    bulk.binaryType = 'arraybuffer';
    await pc.setLocalDescription(await pc.createOffer());
    await withTimeout(gatheringComplete(pc), opts.iceTimeoutMs, new SurveyError('ice_timeout', 'gathering network candidates for the throughput test took too long'));
    const offer = pc.localDescription?.sdp;
    if (!offer) throw new SurveyError('ice_timeout', 'no local description for the throughput test');
    const answer = await opts.exchange(withoutCandidates(offer));
    try {
      await pc.setRemoteDescription({ type: 'answer', sdp: answer });
    } catch (e) {
      throw new SurveyError('ice_failed', `this client's WebRTC stack refused the measurement server's answer for the throughput test: ${(e as Error)?.message ?? String(e)}`);
    }
    const failed = new SurveyError('ice_timeout', 'the throughput test could not connect to the measurement server');
    await withTimeout(Promise.race([channelOpen(bulk), peerFailed(pc, failed)]), opts.iceTimeoutMs, failed);
    return { pc, bulk, close: () => closeQuietly(pc) };
  } catch (e) {
    closeQuietly(pc);
    throw e;
  }
}

function gatheringComplete(pc: RTCPeerConnection): Promise<void> {
  return new Promise((resolve) => {
    if (pc.iceGatheringState === 'complete') return resolve();
    const check = () => {
      if (pc.iceGatheringState === 'complete') {
        pc.removeEventListener('icegatheringstatechange', check);
        resolve();
      }
    };
    pc.addEventListener('icegatheringstatechange', check);
  });
}

/** The type of the local candidate of the selected pair ('host', 'srflx', 'prflx', 'relay'), from standard stats; null if not reported. */
async function selectedLocalCandidateType(pc: RTCPeerConnection): Promise<string | null> {
  const stats = await pc.getStats();
  let pairId: string | undefined;
  stats.forEach((s: { type: string; id: string; selectedCandidatePairId?: string; selected?: boolean }) => {
    if (s.type === 'transport' && s.selectedCandidatePairId) pairId = s.selectedCandidatePairId;
    // Firefox marks the pair instead of naming it on the transport.
    if (s.type === 'candidate-pair' && s.selected) pairId ??= s.id;
  });
  const pair = pairId ? (stats.get(pairId) as { localCandidateId?: string } | undefined) : undefined;
  const local = pair?.localCandidateId ? (stats.get(pair.localCandidateId) as { candidateType?: string } | undefined) : undefined;
  return local?.candidateType ?? null;
}

/** Both ends of the selected candidate pair, from standard stats (`address` or node-datachannel's `ip`); null if not reported. */
async function selectedPair(pc: RTCPeerConnection): Promise<SelectedPair | null> {
  const stats = await pc.getStats();
  let pairId: string | undefined;
  stats.forEach((s: { type: string; id: string; selectedCandidatePairId?: string; selected?: boolean }) => {
    if (s.type === 'transport' && s.selectedCandidatePairId) pairId = s.selectedCandidatePairId;
    if (s.type === 'candidate-pair' && s.selected) pairId ??= s.id;
  });
  const pair = pairId ? (stats.get(pairId) as { localCandidateId?: string; remoteCandidateId?: string } | undefined) : undefined;
  type Candidate = { address?: string; ip?: string; port?: number; candidateType?: string };
  const end = (id: string | undefined) => {
    const c = id ? (stats.get(id) as Candidate | undefined) : undefined;
    const address = c?.address ?? c?.ip;
    return c && address && c.port !== undefined ? { address, port: c.port, type: c.candidateType ?? 'host' } : null;
  };
  const local = end(pair?.localCandidateId);
  const remote = end(pair?.remoteCandidateId);
  return local && remote ? { local, remote } : null;
}

function isTurn(server: RTCIceServer): boolean {
  return (Array.isArray(server.urls) ? server.urls : [server.urls]).some((u) => /^turns?:/i.test(u));
}

function turnNoAllocation(): SurveyError {
  return new SurveyError('ice_failed', 'relay-only connection failed: the TURN server refused the credentials or could not be reached (it gave no relayed address)');
}

function turnNoPath(): SurveyError {
  return new SurveyError('ice_failed', 'relay-only connection failed: no path through the TURN server to the measurement server (the TURN server refused to relay or could not reach it)');
}

function channelOpen(c: RTCDataChannel): Promise<void> {
  return new Promise((resolve, reject) => {
    if (c.readyState === 'open') return resolve();
    c.addEventListener('open', () => resolve(), { once: true });
    c.addEventListener('close', () => reject(new SurveyError('channel_closed', `the ${c.label} channel closed before opening`)), { once: true });
  });
}

/** Resolves once the peer connection is connected (ICE and DTLS). */
function peerConnected(pc: RTCPeerConnection): Promise<void> {
  return new Promise((resolve) => {
    const check = () => {
      if (pc.connectionState === 'connected') {
        pc.removeEventListener('connectionstatechange', check);
        resolve();
      }
    };
    pc.addEventListener('connectionstatechange', check);
    check();
  });
}

/** Rejects with `failed` once the peer connection fails or closes; never resolves. */
function peerFailed(pc: RTCPeerConnection, failed: SurveyError): Promise<never> {
  return new Promise((_, reject) => {
    const check = () => {
      if (pc.connectionState === 'failed' || pc.connectionState === 'closed') reject(failed);
    };
    pc.addEventListener('connectionstatechange', check);
    check();
  });
}

function withTimeout<T>(p: Promise<T>, ms: number, error: SurveyError): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(error), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

function closeQuietly(pc: RTCPeerConnection): void {
  try {
    pc.close();
  } catch {
    // Already closed.
  }
}
