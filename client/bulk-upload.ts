export interface BulkUpload {
  stop(): void;
}

const CHUNK_BYTES = 16 * 1024;
/** Refill when the channel's queue drains below this… */
const LOW_WATER = 256 * 1024;
/** …and stop filling above this, so memory stays bounded however slow the path. */
const HIGH_WATER = 1024 * 1024;

/**
 * Sends bulk data on a W3C data channel as fast as the path takes it (the
 * client's side of the throughput test): fill to a high-water mark, then wait
 * for `bufferedamountlow`. A channel that closes or throws just ends it.
 */
export function startBulkUpload(dc: RTCDataChannel, onSent: (bytes: number) => void): BulkUpload {
  const payload = new Uint8Array(CHUNK_BYTES);
  let stopped = false;
  const fill = () => {
    try {
      while (!stopped && dc.readyState === 'open' && dc.bufferedAmount < HIGH_WATER) {
        dc.send(payload);
        onSent(payload.length);
      }
    } catch {
      stopped = true;
    }
  };
  dc.bufferedAmountLowThreshold = LOW_WATER;
  dc.addEventListener('bufferedamountlow', fill);
  fill();
  return {
    stop: () => {
      stopped = true;
      dc.removeEventListener('bufferedamountlow', fill);
    },
  };
}
