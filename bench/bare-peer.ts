// Bare node-datachannel probing: plain PeerConnections on loopback running the probe engine and nothing else
// (no stats store, no database, no control channel, no relay code), the reference the relay path is held against.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import nodeDataChannel, { type DataChannel, type PeerConnection } from 'node-datachannel';
import { z } from 'zod';
import { createProbeEndpoint, type ProbeEndpoint } from '../shared/probe/endpoint.js';
import { createTickGroup } from '../shared/probe/tick-group.js';
import type { DirectionStats } from '../shared/stats/direction-stats.js';
import { nowMs } from '../shared/time.js';
import { retried, startSessions } from './start-sessions.js';

const OfferSchema = z.object({ sdp: z.string().min(1).max(20_000), conn_id: z.string().min(1).max(64) });
const AnswerSchema = z.object({ sdp: z.string().min(1) });
const GATHER_TIMEOUT_MS = 5_000;
/** A loopback channel opens in milliseconds; one that has not after this is given up and tried afresh. */
const OPEN_TIMEOUT_MS = 10_000;

/** A running side of the bare exchange: its per-second windows go to `onWindow`. */
export interface BareSide {
  stop(): void;
}

/** Resolves once `pc` has gathered every candidate (or the timeout passed); register before the description is set. */
export function gathered(pc: PeerConnection): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, GATHER_TIMEOUT_MS);
    pc.onGatheringStateChange((state) => {
      if (state === 'complete') {
        clearTimeout(timer);
        resolve();
      }
    });
  });
}

export function newPeer(name: string): PeerConnection {
  return new nodeDataChannel.PeerConnection(name, { iceServers: [], bindAddress: '127.0.0.1' });
}

/** Wires a probe channel to a fresh endpoint and starts it; the endpoint echoes the peer's probes in its own. */
function probeOver(dc: DataChannel, connId: string, sendDirection: 's2c' | 'c2s', schedule?: ReturnType<typeof createTickGroup>['schedule']): ProbeEndpoint {
  const endpoint = createProbeEndpoint({
    sendDirection,
    connId,
    ...(schedule ? { schedule } : {}),
    send: (text) => dc.isOpen() && dc.sendMessage(text),
  });
  dc.onMessage((msg) => endpoint.receive(msg, nowMs()));
  endpoint.start();
  return endpoint;
}

/**
 * Closes each endpoint's window once a second on a timer of its own, started when it starts, as the relay does
 * (session.ts): one timer closing every window at once made a once-a-second burst (each window's sketches take a
 * fraction of a millisecond) that the relay does not have, and read as the echo's event-loop lag.
 */
function reportEachSecond(onWindow: (s: DirectionStats) => void) {
  const timers = new Set<ReturnType<typeof setInterval>>();
  return {
    add(e: ProbeEndpoint) {
      timers.add(setInterval(() => onWindow(e.report(nowMs())), 1000));
    },
    stop() {
      for (const t of timers) clearInterval(t);
      timers.clear();
    },
  };
}

/**
 * The echo side: answers offers posted to an HTTP URL and, on each probe
 * channel, runs a probe endpoint (sending s2c probes that echo the peer's) on
 * one shared tick, as the relay does. Resolves with the URL once listening.
 */
export async function startBareServer(onWindow: (s: DirectionStats) => void): Promise<BareSide & { url: string }> {
  const ticks = createTickGroup(10);
  const endpoints = new Set<ProbeEndpoint>();
  const reports = reportEachSecond(onWindow);
  const peers = new Set<PeerConnection>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let offer: z.infer<typeof OfferSchema>;
      try {
        offer = OfferSchema.parse(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      } catch (e) {
        res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: 'bad_request', message: String((e as Error).message) } }));
        return;
      }
      const pc = newPeer(`bare-${offer.conn_id}`);
      peers.add(pc);
      pc.onDataChannel((dc) => {
        const e = probeOver(dc, offer.conn_id, 's2c', ticks.schedule);
        endpoints.add(e);
        reports.add(e);
      });
      const ready = gathered(pc);
      pc.setRemoteDescription(offer.sdp, 'offer');
      void ready.then(() => {
        const local = pc.localDescription();
        if (!local) res.writeHead(500).end();
        else res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ sdp: local.sdp }));
      });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    stop() {
      reports.stop();
      for (const e of endpoints) e.stop();
      for (const pc of peers) pc.close();
      server.close();
    },
  };
}

/** One probing client of the bare server: offer with every candidate, post it, take the answer, wait for the channel. */
async function openBareClient(url: string): Promise<{ pc: PeerConnection; dc: DataChannel; connId: string }> {
  const connId = crypto.randomUUID();
  const pc = newPeer(`client-${connId}`);
  try {
    const ready = gathered(pc);
    const dc = pc.createDataChannel('probe', { unordered: true, maxRetransmits: 0 });
    // Drained (and dropped) until probing starts: the server probes as soon as the channel opens, and an undrained
    // channel fills libdatachannel's receive queue, blocking its worker threads and so the next peer's set-up (a deadlock).
    dc.onMessage(() => undefined);
    const open = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('bare probe channel did not open')), OPEN_TIMEOUT_MS);
      dc.onOpen(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    open.catch(() => undefined); // Awaited below; when a step before that throws, its later timeout must not go unhandled.
    await ready;
    const local = pc.localDescription();
    if (!local) throw new Error('no local description');
    const resp = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ sdp: local.sdp, conn_id: connId }) });
    if (!resp.ok) throw new Error(`bare server refused: ${resp.status}`);
    pc.setRemoteDescription(AnswerSchema.parse(await resp.json()).sdp, 'answer');
    await open;
    return { pc, dc, connId };
  } catch (e) {
    pc.close();
    throw e;
  }
}

/** `sessions` bare clients of the server at `url`, each probing on its own timer like the headless client. */
export async function startBareClients(url: string, sessions: number, onWindow: (s: DirectionStats) => void): Promise<BareSide> {
  // A fresh peer connection when libdatachannel refuses a good answer, as the headless client also does.
  const peers = await startSessions(sessions, () => retried(() => openBareClient(url)), (p) => p.pc.close());
  const endpoints = new Set(peers.map((p) => probeOver(p.dc, p.connId, 'c2s')));
  const reports = reportEachSecond(onWindow);
  for (const e of endpoints) reports.add(e);
  return {
    stop() {
      reports.stop();
      for (const e of endpoints) e.stop();
      for (const p of peers) p.pc.close();
    },
  };
}
