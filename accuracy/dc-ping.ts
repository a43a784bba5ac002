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
    if (dc.isOpen()) dc.sendMessage(typeof m === 'string' ? m : m.toString('utf8'));
  });
  await ready;
  const offer = pc.localDescription()?.sdp;
  if (!offer) {
    pc.close();
    throw new Error('the data-channel echo has no offer');
  }
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
        const sentAt = Number.parseFloat(typeof m === 'string' ? m : m.toString('utf8'));
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
  const answer = pc.localDescription()?.sdp;
  if (!answer) {
    pc.close();
    throw new Error('the data-channel ping has no answer');
  }
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
