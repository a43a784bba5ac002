// Bare UDP reference: node:dgram ping-pong on loopback on the probes' 10 ms schedule, the floor under any data channel.
import { createSocket, type Socket } from 'node:dgram';
import { startTicker, type Ticker } from '../shared/probe/ticker.js';
import { quad, type Quad } from '../shared/stats/percentiles.js';
import { nowMs } from '../shared/time.js';

/** About the size of a probe with its echo on the wire. */
const PING_BYTES = 200;

function bound(): Promise<Socket> {
  const sock = createSocket('udp4');
  return new Promise((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(0, '127.0.0.1', () => resolve(sock));
  });
}

/** Sends every datagram straight back to where it came from. */
export async function startUdpEcho(): Promise<{ port: number; stop(): void }> {
  const sock = await bound();
  sock.on('message', (msg, from) => sock.send(msg, from.port, from.address));
  return { port: sock.address().port, stop: () => sock.close() };
}

/** `flows` sockets, each pinging the echo at `port` every 10 ms; each flow's RTT quad goes to `onSecond` once a second. */
export async function startUdpPing(port: number, flows: number, onSecond: (rtt: Quad) => void): Promise<{ stop(): void }> {
  const running: { sock: Socket; ticker: Ticker; rtts: number[] }[] = [];
  for (let i = 0; i < flows; i++) {
    const sock = await bound();
    const rtts: number[] = [];
    sock.on('message', (msg) => {
      if (msg.length >= 8) rtts.push(nowMs() - msg.readDoubleLE(0));
    });
    const ticker = startTicker(10, () => {
      const buf = Buffer.alloc(PING_BYTES);
      buf.writeDoubleLE(nowMs(), 0);
      sock.send(buf, port, '127.0.0.1');
    });
    running.push({ sock, ticker, rtts });
  }
  const timer = setInterval(() => {
    for (const f of running) {
      if (f.rtts.length > 0) onSecond(quad(f.rtts));
      f.rtts.length = 0;
    }
  }, 1000);
  return {
    stop() {
      clearInterval(timer);
      for (const f of running) {
        f.ticker.stop();
        f.sock.close();
      }
    },
  };
}
