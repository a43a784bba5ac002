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
 * for `bufferedamountlow`. A channel that closes or throws just ends it (no
 * call on the channel throws out of here: the channel's close ends the survey).
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
  try {
    // node-datachannel's polyfill throws here too once its channel is gone.
    dc.bufferedAmountLowThreshold = LOW_WATER;
  } catch {
    stopped = true;
  }
  dc.addEventListener('bufferedamountlow', fill);
  fill();
  return {
    stop: () => {
      stopped = true;
      dc.removeEventListener('bufferedamountlow', fill);
    },
  };
}
