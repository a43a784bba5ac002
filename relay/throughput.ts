import type { DataChannel, PeerConnection } from 'node-datachannel';
import { startBulkPacer, type BulkPacer } from '../shared/bulk-pacing.js';
import type { ThroughputDirection } from '../shared/protocol/control.js';
import { oversizeMessage } from '../shared/protocol/limits.js';
import { onChannelClosed } from './channel-closed.js';
import { answerOffer, type PeerOptions } from './peer.js';

export type BulkSender = BulkPacer;

/** Sends bulk data on `dc`, paced to about one bandwidth-delay product queued (shared/bulk-pacing.ts). */
export function startBulkSender(dc: DataChannel, onSent: (bytes: number) => void, rttMs: () => number = () => 0): BulkSender {
  return startBulkPacer(
    {
      buffered: () => dc.bufferedAmount(),
      // Its false means "queued", not "dropped": the pacer watches the queue itself.
      send: (payload) => void dc.sendMessageBinary(payload),
      isOpen: () => dc.isOpen(),
      setLowThreshold: (bytes) => dc.setBufferedAmountLowThreshold(bytes),
      onLow: (fn) => {
        dc.onBufferedAmountLow(fn);
        return () => dc.onBufferedAmountLow(() => {});
      },
    },
    { rttMs, onSent },
  );
}

/** The throughput test's own peer connection (PROTOCOL v3): bulk data only, apart from the probes' association. */
export interface LoadConnection {
  close(): void;
}

export interface LoadEvents {
  /** Round trip of the path now (ms), for pacing. */
  rttMs: () => number;
  /** Bulk bytes received from the client (upload). */
  onReceived: (bytes: number) => void;
  /** Bulk bytes this relay queued toward the client (download). */
  onSent: (bytes: number) => void;
  /** The connection went (closed, failed, or a message over the bulk limit). */
  onGone: (why: string) => void;
}

/**
 * Answers the client's offer for its load connection and runs the relay's
 * side of the test on its `bulk` channel: counts what arrives, and sends
 * (paced) when the test includes download. Any other channel is refused.
 */
export async function openLoadConnection(
  name: string,
  offerSdp: string,
  direction: ThroughputDirection,
  peer: PeerOptions,
  events: LoadEvents,
): Promise<{ sdp: string; load: LoadConnection }> {
  const { pc, sdp } = await answerOffer(name, offerSdp, peer);
  let sender: BulkSender | null = null;
  let bulk: DataChannel | null = null;
  let detachBulk = () => {};
  let closed = false;
  const close = (why: string) => {
    if (closed) return;
    closed = true;
    sender?.stop();
    // Closing the channel drops its other callbacks; its closed callback must be let go of by hand (channel-closed.ts).
    detachBulk();
    bulk?.close();
    pc.close();
    events.onGone(why);
  };
  watchLoadPeer(pc, (why) => close(why));
  pc.onDataChannel((dc) => {
    if (closed || dc.getLabel() !== 'bulk') {
      dc.close();
      return;
    }
    dc.onMessage((data) => {
      if (closed) return;
      if (oversizeMessage('bulk', typeof data === 'string' ? data : data instanceof ArrayBuffer ? new Uint8Array(data) : data)) {
        close('a bulk message over its limit');
        return;
      }
      events.onReceived(typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength);
    });
    bulk = dc;
    detachBulk = onChannelClosed(dc, () => close('bulk channel closed'));
    const send = () => {
      if (!closed && !sender && direction !== 'upload') sender = startBulkSender(dc, events.onSent, events.rttMs);
    };
    dc.onOpen(send);
    if (dc.isOpen()) send();
  });
  return { sdp, load: { close: () => close('closed') } };
}

function watchLoadPeer(pc: PeerConnection, gone: (why: string) => void): void {
  pc.onStateChange((state) => {
    if (state === 'failed' || state === 'closed' || state === 'disconnected') gone(`load connection ${state}`);
  });
}
