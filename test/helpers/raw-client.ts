// A bare client connection that speaks the control protocol by hand, for tests of what the relay answers.
import { openConnection, type Connection } from '../../client/connection.js';
import type { Signal } from '../../client/signaling.js';
import { NodeRTCPeerConnection } from '../../cli/node-peer-connection.js';
import { uuid } from '../../shared/ids.js';
import { parseControlMessage, type ControlMessage } from '../../shared/protocol/control.js';

export interface RawClient {
  conn: Connection;
  /** Every control message the relay sent, in order. */
  replies: ControlMessage[];
  /** Sends a control message (conn_id filled in). */
  send(msg: Record<string, unknown>): void;
  /** Resolves once the replies so far satisfy `pred`. */
  until(pred: (replies: ControlMessage[]) => boolean): Promise<void>;
  /** Resolves when the control channel closes (the relay ended the connection, or we did). */
  closed: Promise<void>;
}

/** Opens a connection through `signal` and collects the relay's control replies. */
export async function openRawClient(signal: Signal, connId: string = uuid()): Promise<RawClient> {
  const conn = await openConnection({ RTCPeerConnection: NodeRTCPeerConnection, signal, connId, iceTimeoutMs: 10_000 });
  const replies: ControlMessage[] = [];
  const waiters: { pred: (r: ControlMessage[]) => boolean; resolve: () => void }[] = [];
  conn.channels.control.onmessage = (e) => {
    const p = parseControlMessage(e.data);
    if (p.ok) replies.push(p.message);
    for (const w of [...waiters]) {
      if (!w.pred(replies)) continue;
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve();
    }
  };
  const closed = new Promise<void>((resolve) => conn.channels.control.addEventListener('close', () => resolve()));
  return {
    conn,
    replies,
    send: (msg) => conn.channels.control.send(JSON.stringify({ conn_id: conn.connId, ...msg })),
    until: (pred) => new Promise<void>((resolve) => (pred(replies) ? resolve() : waiters.push({ pred, resolve }))),
    closed,
  };
}

/** The first `error` reply with this code, if any. */
export function errorOf(replies: ControlMessage[], code: string): ControlMessage | undefined {
  return replies.find((m) => m.type === 'error' && m.code === code);
}
