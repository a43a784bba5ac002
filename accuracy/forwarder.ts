// A userspace UDP forwarder on loopback between a WebRTC client and the relay, impairing each direction from a seeded PRNG.
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { performance } from 'node:perf_hooks';
import { classifyDatagram, type DatagramKind } from './datagram-kind.js';
import { createDirectionLine, type DirectionLine, type ImpairmentSpec } from './impairment.js';
import { subSeed } from './prng.js';

export type Direction = 'c2s' | 's2c';

export interface ForwarderConfig {
  /** The relay's ICE UDP port (on 127.0.0.1). */
  relayPort: number;
  /**
   * The relay's UDP port for throughput tests' load connections (RELAY_LOAD_UDP_PORT): with it the forwarder has a
   * second client-facing socket that carries them there, through the same lines (one bottleneck queue for all).
   */
  loadRelayPort?: number;
  c2s: ImpairmentSpec;
  s2c: ImpairmentSpec;
  seed: number;
  /**
   * DTLS application datagrams shorter than this (default 130) are never
   * dropped or held. Measured on loopback with node-datachannel 0.33.4: the
   * SCTP packets that carry no message (SACKs, mostly from the side that has
   * nothing to piggyback them on) arrive as 50–89-byte datagrams, about one
   * in four s2c datagrams; the smallest carrying a message is 140 bytes (a
   * data-channel open) and probes are 170–600. Dropping a bare SACK loses no
   * probe yet would count in the truth's denominator, so they are exempt.
   */
  smallBelow?: number;
}

/** What happened to one datagram. */
export interface DatagramRecord {
  /** Arrival index in its direction. */
  i: number;
  /** Arrival time at the forwarder (performance.now(), ms). */
  atMs: number;
  size: number;
  kind: DatagramKind;
  /** Loss and reordering were switched on when it arrived. */
  armed: boolean;
  /** Eligible for loss and reordering (armed, and DTLS application data of probe size). */
  impairable: boolean;
  dropped: boolean;
  /** Dropped by the bottleneck's full queue. */
  tailDropped?: boolean;
  /** Time waited in the bottleneck's queue (0 without one). */
  queuedMs?: number;
  /** It belongs to a load connection (arrived on, or for, the load socket). */
  load?: boolean;
  /** Held back for the next impairable datagram to overtake. */
  held: boolean;
  /** When it left (null: dropped, or still inside at the end). */
  sentAtMs: number | null;
  /** Departure index in its direction (null if it never left). */
  out: number | null;
}

export interface ForwarderLog {
  c2s: DatagramRecord[];
  s2c: DatagramRecord[];
  /** Client-facing port (F). */
  port: number;
  /** One upstream socket per client source address: the relay sees these ports as the client. */
  upstreams: { client: string; port: number }[];
  /** Datagrams from addresses that are neither a client nor the relay (ignored). */
  foreign: number;
  /** performance.timeOrigin of the forwarder's process: atMs + this is epoch ms. */
  timeOriginMs?: number;
}

export interface Forwarder {
  /** The client-facing address F, to be put in place of the relay's candidates. */
  readonly address: { ip: string; port: number };
  /** The client-facing address of load connections (with loadRelayPort). */
  readonly loadAddress: { ip: string; port: number } | null;
  /** Switches loss and reordering on (probing) or off (setup, teardown); delay applies always. */
  arm(on: boolean): void;
  log(): ForwarderLog;
  close(): Promise<void>;
}

const LOOPBACK = '127.0.0.1';
/** A datagram due within this is sent now rather than after another timer turn (timers have 1 ms granularity). */
const EARLY_MS = 0.3;

interface InFlight {
  data: Buffer;
  rec: DatagramRecord;
  /** Where it goes: the relay (via this upstream socket) or the client (via F). */
  via: Socket;
  to: { address: string; port: number };
}

/** Starts the forwarder on 127.0.0.1 (a free port) in front of the relay. */
export async function startForwarder(config: ForwarderConfig): Promise<Forwarder> {
  const smallBelow = config.smallBelow ?? 130;
  const front = createSocket('udp4');
  await new Promise<void>((resolve) => front.bind(0, LOOPBACK, () => resolve()));
  const frontPort = front.address().port;
  const loadFront = config.loadRelayPort ? createSocket('udp4') : null;
  if (loadFront) await new Promise<void>((resolve) => loadFront.bind(0, LOOPBACK, () => resolve()));
  const upstreams = new Map<string, { sock: Socket; port: number; client: RemoteInfo }>();
  const logs: Record<Direction, DatagramRecord[]> = { c2s: [], s2c: [] };
  const outCount: Record<Direction, number> = { c2s: 0, s2c: 0 };
  const lines: Record<Direction, DirectionLine<InFlight>> = {
    c2s: createDirectionLine(config.c2s, subSeed(config.seed, 0)),
    s2c: createDirectionLine(config.s2c, subSeed(config.seed, 1)),
  };
  const timers: Record<Direction, ReturnType<typeof setTimeout> | null> = { c2s: null, s2c: null };
  let armed = false;
  let foreign = 0;
  let closed = false;

  const pump = (dir: Direction) => {
    if (timers[dir]) clearTimeout(timers[dir]!);
    timers[dir] = null;
    if (closed) return;
    const line = lines[dir];
    for (const f of line.takeDue(performance.now() + EARLY_MS)) {
      f.rec.sentAtMs = performance.now();
      f.rec.out = outCount[dir]++;
      f.via.send(f.data, f.to.port, f.to.address);
    }
    const next = line.nextDueMs();
    if (next !== null) timers[dir] = setTimeout(() => pump(dir), Math.max(1, Math.floor(next - performance.now())));
  };

  const arrive = (dir: Direction, data: Buffer, via: Socket, to: { address: string; port: number }, load = false) => {
    const atMs = performance.now();
    const kind = classifyDatagram(data, smallBelow);
    const impairable = armed && kind === 'dtls-app';
    const rec: DatagramRecord = { i: logs[dir].length, atMs, size: data.length, kind, armed, impairable, dropped: false, held: false, sentAtMs: null, out: null, ...(load ? { load } : {}) };
    logs[dir].push(rec);
    const d = lines[dir].arrive({ data, rec, via, to }, atMs, impairable, data.length);
    rec.dropped = d.drop;
    if (d.tailDrop) rec.tailDropped = true;
    if (d.queuedMs !== undefined) rec.queuedMs = d.queuedMs;
    rec.held = d.hold;
    pump(dir);
  };

  const upstreamFor = async (client: RemoteInfo, entrance: Socket, relayPort: number) => {
    const key = `${relayPort}/${client.address}:${client.port}`;
    let up = upstreams.get(key);
    if (!up) {
      const sock = createSocket('udp4');
      // Registered before binding, so a second datagram from this client finds it while the bind is under way.
      const entry = { sock, port: 0, client };
      upstreams.set(key, entry);
      sock.on('message', (msg, from) => {
        if (from.port !== relayPort || from.address !== LOOPBACK) return void foreign++;
        arrive('s2c', msg, entrance, { address: client.address, port: client.port }, entrance !== front);
      });
      await new Promise<void>((resolve) => sock.bind(0, LOOPBACK, () => resolve()));
      entry.port = sock.address().port;
      up = entry;
    }
    return up;
  };

  // Datagrams from one client are handled in arrival order even while its upstream socket is being bound.
  let chain = Promise.resolve();
  const entrance = (sock: Socket, relayPort: number) =>
    sock.on('message', (msg, from) => {
      if (from.port === relayPort && from.address === LOOPBACK) return void foreign++;
      const load = sock !== front;
      const known = upstreams.get(`${relayPort}/${from.address}:${from.port}`);
      if (known && known.port) return arrive('c2s', msg, known.sock, { address: LOOPBACK, port: relayPort }, load);
      chain = chain.then(async () => {
        const up = await upstreamFor(from, sock, relayPort);
        arrive('c2s', msg, up.sock, { address: LOOPBACK, port: relayPort }, load);
      });
    });
  entrance(front, config.relayPort);
  if (loadFront && config.loadRelayPort) entrance(loadFront, config.loadRelayPort);

  // A held datagram that nothing overtook leaves after the hold limit.
  const staleTimer = setInterval(() => {
    for (const dir of ['c2s', 's2c'] as const) {
      lines[dir].releaseStale(performance.now());
      pump(dir);
    }
  }, 25);

  return {
    address: { ip: LOOPBACK, port: frontPort },
    loadAddress: loadFront ? { ip: LOOPBACK, port: loadFront.address().port } : null,
    arm(on) {
      armed = on;
    },
    log: () => ({
      c2s: logs.c2s,
      s2c: logs.s2c,
      port: frontPort,
      upstreams: [...upstreams.values()].map((u) => ({ client: `${u.client.address}:${u.client.port}`, port: u.port })),
      foreign,
      timeOriginMs: performance.timeOrigin,
    }),
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(staleTimer);
      for (const dir of ['c2s', 's2c'] as const) if (timers[dir]) clearTimeout(timers[dir]!);
      await Promise.all([front, ...(loadFront ? [loadFront] : []), ...[...upstreams.values()].map((u) => u.sock)].map((s) => new Promise<void>((r) => s.close(() => r()))));
    },
  };
}
