import { parseProbe, type Direction, type ProbePacket } from '../protocol/probe.js';
import {
  createReceiver,
  recordProbe,
  recordRtt,
  rttFromEcho,
  takeReport,
  type DirectionStats,
  type ReceiverOptions,
} from '../stats/direction-stats.js';
import { nowMs } from '../time.js';
import type { Schedule } from './tick-group.js';
import { startTicker } from './ticker.js';

export interface ProbeEndpointOptions {
  /** The direction of the probes this side sends: the relay sends 's2c', the client 'c2s'. */
  sendDirection: Direction;
  connId: string;
  /** Writes one probe text on the probe channel. */
  send: (text: string) => void;
  now?: () => number;
  intervalMs?: number;
  receiver?: ReceiverOptions;
  /** Shares one timer among many endpoints (see tick-group.ts); by default each endpoint has its own. */
  schedule?: Schedule;
}

export interface ProbeEndpoint {
  /** Starts sending a probe every intervalMs on a drift-free schedule. */
  start(): void;
  /** Stops sending. */
  stop(): void;
  readonly running: boolean;
  /** Handles a probe text from the peer; false when it was dropped (malformed, other connection, our own direction). */
  receive(text: unknown, atMs?: number): boolean;
  /** Stats of the received direction since the last report; `senderStopped` when the peer has stopped sending. */
  report(nowMs?: number, opts?: { senderStopped?: boolean }): DirectionStats;
  readonly sent: number;
}

/**
 * One side of the probe exchange — the same code runs in the relay and in the
 * browser. Each probe carries feedback on what this side has received and an
 * echo of the newest probe received, so the peer computes RTT with no clock sync.
 */
export function createProbeEndpoint(opts: ProbeEndpointOptions): ProbeEndpoint {
  const now = opts.now ?? nowMs;
  const intervalMs = opts.intervalMs ?? 10;
  const receiver = createReceiver({ intervalMs, ...opts.receiver });
  let seq = 0;
  const schedule: Schedule = opts.schedule ?? ((tick) => startTicker(intervalMs, tick, now));
  let ticker: ReturnType<Schedule> | null = null;
  let newest: { seq: number; sent_at_ms: number; received_at: number } | null = null;

  const sendOne = () => {
    const at = now();
    const probe: ProbePacket = { seq: seq++, sent_at_ms: at, direction: opts.sendDirection, conn_id: opts.connId };
    if (receiver.highest) {
      probe.feedback = {
        highest_seq: receiver.highest.seq,
        highest_seq_received_at_ms: receiver.highest.receivedAt,
        recent_count: receiver.received,
        recent_reorders: receiver.reordered,
      };
    }
    if (newest) probe.echo = { seq: newest.seq, sent_at_ms: newest.sent_at_ms, held_ms: Math.max(0, at - newest.received_at) };
    opts.send(JSON.stringify(probe));
  };

  return {
    start() {
      if (!ticker) ticker = schedule(sendOne);
    },
    stop() {
      if (!ticker) return;
      ticker.stop();
      ticker = null;
    },
    get running() {
      return ticker !== null;
    },
    receive(text, atMs) {
      const at = atMs ?? now();
      const p = parseProbe(text);
      if (!p || p.conn_id !== opts.connId || p.direction === opts.sendDirection) return false;
      const verdict = recordProbe(receiver, p.seq, p.sent_at_ms, at);
      if (verdict === 'implausible') return false;
      if (verdict === 'duplicate') return true;
      if (p.echo) {
        const rtt = rttFromEcho(at, p.echo);
        if (rtt !== null) recordRtt(receiver, rtt);
      }
      newest = { seq: p.seq, sent_at_ms: p.sent_at_ms, received_at: at };
      return true;
    },
    report(at, reportOpts) {
      return takeReport(receiver, at ?? now(), reportOpts);
    },
    get sent() {
      return seq;
    },
  };
}
