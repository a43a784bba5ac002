// Bare data-channel reference: node-datachannel ping-pong on the probes' 10 ms schedule, no NetPoke code on either end —
// what any data-channel tool reads on a path, its WebRTC stack's hand-offs included.
import type { DataChannel, PeerConnection } from 'node-datachannel';
import { stripCandidates } from './signal-through.js';
import { startTicker, type Ticker } from '../shared/probe/ticker.js';
import { quad, type Quad } from '../shared/stats/percentiles.js';
import { nowMs } from '../shared/time.js';
import { gathered, newPeer } from '../bench/bare-peer.js';

/** About the size of a probe with its echo on the wire (as bench/udp-ping.ts's). */
const PING_CHARS = 200;
/** As the probe channel: unordered, never retransmitted. */
const CHANNEL = { unordered: true, maxRetransmits: 0 } as const;

/** A message as text (the pings are strings; a binary one is read as UTF-8). */
const asText = (m: string | Buffer | ArrayBuffer): string => (typeof m === 'string' ? m : Buffer.from(m as ArrayBuffer).toString('utf8'));

/** `pc`'s gathered description, or `pc` closed and an error naming `what` is missing. */
function localSdp(pc: PeerConnection, what: string): string {
  const sdp = pc.localDescription()?.sdp;
  if (!sdp) {
    pc.close();
    throw new Error(`the data-channel ${what}`);
  }
  return sdp;
}

/**
 * The echo end, which offers: a channel that sends every message straight back. `offer` is its SDP with its
 * candidates; `accept` takes the pinging end's answer without candidates, so the echo learns that end only from the
 * checks that reach it (through a forwarder, when the offer's candidates were pointed at one).
 */
export async function startDcEcho(): Promise<{ offer: string; accept(answerSdp: string): void; stop(): void }> {
  const pc = newPeer('dc-echo');
  const ready = gathered(pc);
  const dc = pc.createDataChannel('ping', CHANNEL);
  dc.onMessage((m) => {
    if (dc.isOpen()) dc.sendMessage(asText(m));
  });
  await ready;
  const offer = localSdp(pc, 'echo has no offer');
  return {
    offer,
    accept: (answerSdp) => pc.setRemoteDescription(stripCandidates(answerSdp), 'answer'),
    stop() {
      dc.close();
      pc.close();
    },
  };
}

/**
 * The pinging end, which answers `offerSdp`: once the echo's channel opens, a ping every 10 ms carrying its send
 * time; the RTT quad of each second's pongs goes to `onSecond`.
 */
export async function startDcPing(offerSdp: string, onSecond: (rtt: Quad) => void): Promise<{ answer: string; opened: Promise<void>; stop(): void }> {
  const pc: PeerConnection = newPeer('dc-ping');
  const rtts: number[] = [];
  let channel: DataChannel | null = null;
  let ticker: Ticker | null = null;
  let timer: ReturnType<typeof setInterval> | null = null;
  const opened = new Promise<void>((resolve) =>
    pc.onDataChannel((dc) => {
      channel = dc;
      dc.onMessage((m) => {
        const sentAt = Number.parseFloat(asText(m));
        if (Number.isFinite(sentAt)) rtts.push(nowMs() - sentAt);
      });
      ticker = startTicker(10, () => {
        if (dc.isOpen()) dc.sendMessage(String(nowMs()).padEnd(PING_CHARS));
      });
      timer = setInterval(() => {
        if (rtts.length > 0) onSecond(quad(rtts));
        rtts.length = 0;
      }, 1000);
      resolve();
    }),
  );
  const ready = gathered(pc);
  pc.setRemoteDescription(offerSdp, 'offer');
  await ready;
  const answer = localSdp(pc, 'ping has no answer');
  return {
    answer,
    opened,
    stop() {
      ticker?.stop();
      if (timer) clearInterval(timer);
      channel?.close();
      pc.close();
    },
  };
}
