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
  close(): void;
}

export interface ConnectOptions {
  RTCPeerConnection: typeof RTCPeerConnection;
  signal: Signal;
  connId: string;
  iceServers?: RTCIceServer[];
  /** Gathering and channel opening must finish within this. */
  iceTimeoutMs: number;
}

/**
 * Opens one peer connection with the three channels: offer, gather every
 * candidate (so no trickling is needed), signal, and wait until all three
 * channels are open. Closes the peer on any failure.
 */
export async function openConnection(opts: ConnectOptions): Promise<Connection> {
  for (let tries = 1; ; tries++) {
    try {
      return await attempt(opts);
    } catch (e) {
      // libdatachannel (the headless client's WebRTC stack) now and then refuses a
      // good answer under load ("remote candidate without ICE transport"); a fresh
      // peer connection succeeds. Refusals in words (SurveyError) are final.
      if (e instanceof SurveyError || tries >= 3) throw e;
      await new Promise((r) => setTimeout(r, 50 * tries));
    }
  }
}

async function attempt(opts: ConnectOptions): Promise<Connection> {
  const pc = new opts.RTCPeerConnection({ iceServers: opts.iceServers ?? [] });
  try {
    const channels: Channels = {
      probe: pc.createDataChannel('probe', { ordered: false, maxRetransmits: 0 }),
      bulk: pc.createDataChannel('bulk', { ordered: false, maxRetransmits: 0 }),
      control: pc.createDataChannel('control', { ordered: true }),
    };
    channels.bulk.binaryType = 'arraybuffer';
    await pc.setLocalDescription(await pc.createOffer());
    await withTimeout(gatheringComplete(pc), opts.iceTimeoutMs, 'ice_timeout', 'gathering network candidates took too long');
    const offerSdp = pc.localDescription?.sdp;
    if (!offerSdp) throw new SurveyError('ice_timeout', 'no local description');
    const answer = await opts.signal({ sdp: offerSdp, type: 'offer', conn_id: opts.connId });
    await pc.setRemoteDescription({ type: 'answer', sdp: answer.sdp });
    await withTimeout(
      Promise.all(Object.values(channels).map((c: RTCDataChannel) => channelOpen(c, pc))),
      opts.iceTimeoutMs,
      'ice_timeout',
      'could not connect to the measurement server in time (a firewall may block UDP)',
    );
    return { pc, channels, connId: opts.connId, sessionId: answer.session_id, relayId: answer.relay_id, close: () => closeQuietly(pc) };
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

function channelOpen(c: RTCDataChannel, pc: RTCPeerConnection): Promise<void> {
  return new Promise((resolve, reject) => {
    if (c.readyState === 'open') return resolve();
    c.addEventListener('open', () => resolve(), { once: true });
    c.addEventListener('close', () => reject(new SurveyError('channel_closed', `the ${c.label} channel closed before opening`)), { once: true });
    pc.addEventListener('connectionstatechange', () => {
      if (pc.connectionState === 'failed') reject(new SurveyError('ice_timeout', 'the connection to the measurement server failed'));
    });
  });
}

function withTimeout<T>(p: Promise<T>, ms: number, code: string, message: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new SurveyError(code, message)), ms);
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
