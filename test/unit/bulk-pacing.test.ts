import { describe, expect, it } from 'vitest';
import { BULK_CHUNK_BYTES, PACE_CEILING_BYTES, PACE_FLOOR_BYTES, paceTarget, startBulkPacer, type PacedChannel } from '../../shared/bulk-pacing.js';

/**
 * A channel like libdatachannel's: the transport takes `window` bytes at once (usrsctp's send buffer), the rest
 * queues; `drain(n)` is the path taking n bytes, firing the low event when the queue crosses down to the threshold.
 */
function fakeChannel(window: number) {
  let inTransport = 0;
  let queue = 0;
  let threshold = 0;
  let low: (() => void) | null = null;
  const ch: PacedChannel = {
    buffered: () => queue,
    send: (p) => {
      const take = Math.min(p.length, window - inTransport);
      inTransport += take;
      queue += p.length - take;
    },
    isOpen: () => true,
    setLowThreshold: (n) => (threshold = n),
    onLow: (fn) => {
      low = fn;
      return () => (low = null);
    },
  };
  const drain = (n: number) => {
    const before = queue;
    inTransport = Math.max(0, inTransport - n);
    const move = Math.min(queue, window - inTransport);
    queue -= move;
    inTransport += move;
    if (before > threshold && queue <= threshold) low?.();
  };
  return { ch, drain, queued: () => queue };
}

describe('bulk pacing', () => {
  it('keeps one bandwidth-delay product, within its floor and ceiling', () => {
    // 100 Mbit/s × 20 ms = 250,000 bytes.
    expect(paceTarget(12_500_000, 20)).toBe(250_000);
    expect(paceTarget(1_000, 1)).toBe(PACE_FLOOR_BYTES);
    expect(paceTarget(1e9, 1_000)).toBe(PACE_CEILING_BYTES);
  });

  it('goes on sending after the transport’s own buffer fills (the 1 MiB stall of issue 17)', () => {
    let t = 0;
    const { ch, drain } = fakeChannel(1024 * 1024);
    let sent = 0;
    const pacer = startBulkPacer(ch, { rttMs: () => 1, onSent: (n) => (sent += n), now: () => t });
    // The first fill goes past the transport's buffer into the channel's queue, so a low event is certain to come.
    expect(sent).toBeGreaterThan(1024 * 1024);
    for (let i = 0; i < 100; i++) {
      t += 10;
      drain(256 * 1024);
    }
    // 100 drains of 256 KiB: 25 MiB moved, and the sender kept up with each.
    expect(sent).toBeGreaterThan(25 * 1024 * 1024);
    pacer.stop();
  });

  it('holds the queue to the measured rate × RTT, not a fixed megabyte', () => {
    let t = 0;
    const { ch, drain, queued } = fakeChannel(4 * BULK_CHUNK_BYTES);
    const pacer = startBulkPacer(ch, { rttMs: () => 40, onSent: () => undefined, now: () => t });
    // The path drains 10 MB/s: 100 kB every 10 ms. One BDP at 40 ms is 400 kB.
    for (let i = 0; i < 300; i++) {
      t += 10;
      drain(100_000);
    }
    expect(pacer.target).toBeGreaterThan(350_000);
    expect(pacer.target).toBeLessThan(450_000);
    expect(queued()).toBeLessThanOrEqual(pacer.target + BULK_CHUNK_BYTES);
    pacer.stop();
  });
});
