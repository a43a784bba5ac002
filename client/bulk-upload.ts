import { startBulkPacer, type BulkPacer } from '../shared/bulk-pacing.js';

export type BulkUpload = BulkPacer;

/**
 * Sends bulk data on a W3C data channel (the client's side of the throughput
 * test), paced to about one bandwidth-delay product queued (shared/bulk-pacing.ts).
 * A channel that closes or throws just ends it: no call on the channel throws
 * out of here.
 */
export function startBulkUpload(dc: RTCDataChannel, onSent: (bytes: number) => void, rttMs: () => number = () => 0): BulkUpload {
  return startBulkPacer(
    {
      buffered: () => dc.bufferedAmount,
      send: (payload) => dc.send(payload),
      isOpen: () => dc.readyState === 'open',
      // node-datachannel's polyfill throws here too once its channel is gone.
      setLowThreshold: (bytes) => (dc.bufferedAmountLowThreshold = bytes),
      onLow: (fn) => {
        dc.addEventListener('bufferedamountlow', fn);
        return () => dc.removeEventListener('bufferedamountlow', fn);
      },
    },
    { rttMs, onSent },
  );
}
