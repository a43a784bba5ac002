import type { DataChannel } from 'node-datachannel';

export interface BulkSender {
  stop(): void;
}

const CHUNK_BYTES = 16 * 1024;
/** Refill when the channel's queue drains below this… */
const LOW_WATER = 256 * 1024;
/** …and stop filling above this, so memory stays bounded however slow the path. */
const HIGH_WATER = 1024 * 1024;

/**
 * Sends bulk data on `dc` as fast as the path takes it: fill the channel's
 * buffer to a high-water mark, then wait for its buffered-amount-low event.
 */
export function startBulkSender(dc: DataChannel, onSent: (bytes: number) => void): BulkSender {
  const payload = new Uint8Array(CHUNK_BYTES);
  let stopped = false;
  const fill = () => {
    try {
      while (!stopped && dc.isOpen() && dc.bufferedAmount() < HIGH_WATER) {
        if (!dc.sendMessageBinary(payload)) break;
        onSent(payload.length);
      }
    } catch {
      stopped = true;
    }
  };
  dc.setBufferedAmountLowThreshold(LOW_WATER);
  dc.onBufferedAmountLow(() => {
    if (!stopped) fill();
  });
  fill();
  return {
    stop: () => {
      stopped = true;
    },
  };
}
