// A forwarder log record for truth tests: an impairable, armed DTLS data datagram unless `extra` says otherwise.
import type { DatagramRecord } from '../../accuracy/forwarder.js';

/** Datagram `i` seen at `atMs`, sent on at `sentAtMs` (null: dropped), leaving as departure number `out`. */
export const datagramRecord = (i: number, atMs: number, sentAtMs: number | null, out: number | null, extra: Partial<DatagramRecord> = {}): DatagramRecord => ({
  i,
  atMs,
  size: 300,
  kind: 'dtls-app',
  armed: true,
  impairable: true,
  dropped: sentAtMs === null,
  held: false,
  sentAtMs,
  out,
  ...extra,
});
