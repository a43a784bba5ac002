// The path's own round trip, between processes laid out as in a scenario, through a forwarder that injects nothing:
// bare UDP, and a bare data channel (node-datachannel both ends, no NetPoke code).
import * as z from 'zod';
import { hostCandidates } from '../relay/peer.js';
import { startUdpPing } from '../bench/udp-ping.js';
import { nearestRank } from '../shared/stats/percentiles.js';
import { startDcPing } from './dc-ping.js';
import { HarnessError } from './harness-error.js';
import { forkTs } from './ipc.js';
import { pointCandidatesAt } from './signal-through.js';
import { spawnForwarder } from './spawn-forwarder.js';

const clean = { delayMs: 0, jitterMs: 0, lossPct: 0, reorderPct: 0 };
/** A loopback data channel opens in milliseconds. */
const OPEN_TIMEOUT_MS = 10_000;

/** The path's own round trip, the floor under "NetPoke − injected". */
export interface PathBase {
  /** Bare UDP, measured before the scenario: what any tool reads on this path before a WebRTC stack. */
  rttP50: number;
  /**
   * A bare data channel, measured while the scenario runs: the same path with node-datachannel's DTLS/SCTP and its
   * thread hand-offs at both ends, under the machine's load of that moment.
   */
  channelRttP50: number;
}

/** The median of a ping's per-second RTT p50s; none means nothing came back through the forwarder. */
function medianOfSeconds(what: string, p50s: readonly number[]): number {
  if (p50s.length === 0) throw new HarnessError(`no ${what} ping came back through the unimpaired forwarder`);
  return nearestRank([...p50s].sort((a, b) => a - b), 50);
}

/** Median of each second's p50 of a bare UDP ping every 10 ms from this process to an echo in another, over `seconds`. */
export async function measureUdpBase(seconds: number): Promise<number> {
  const echo = forkTs(new URL('./udp-echo-process.ts', import.meta.url));
  try {
    const { port } = z.object({ port: z.number().int() }).parse(await echo.call({ op: 'start' }));
    const fwd = await spawnForwarder({ relayPort: port, c2s: clean, s2c: clean, seed: 0 });
    try {
      const p50s: number[] = [];
      const ping = await startUdpPing(fwd.address.port, 1, (rtt) => p50s.push(rtt[0]));
      await new Promise((r) => setTimeout(r, seconds * 1000 + 100));
      ping.stop();
      return medianOfSeconds('UDP', p50s);
    } finally {
      await fwd.close();
    }
  } finally {
    await echo.call({ op: 'close' }).catch(() => undefined);
    await echo.exited(2_000);
  }
}

/** A running data-channel base: `stop` ends it and gives the median of its seconds' RTT p50s. */
export interface ChannelBase {
  stop(): Promise<number>;
}

/**
 * Starts a data-channel ping every 10 ms from this process to an echo in another, through a forwarder of its own that
 * injects nothing (only the forwarder's address is reachable); resolves once the channel is open and pinging.
 */
export async function startChannelBase(): Promise<ChannelBase> {
  const echo = forkTs(new URL('./dc-echo-process.ts', import.meta.url));
  const closeEcho = async () => {
    await echo.call({ op: 'close' }).catch(() => undefined);
    await echo.exited(2_000);
  };
  let fwd: Awaited<ReturnType<typeof spawnForwarder>> | null = null;
  let ping: Awaited<ReturnType<typeof startDcPing>> | null = null;
  const p50s: number[] = [];
  try {
    const { offer } = z.object({ offer: z.string() }).parse(await echo.call({ op: 'start' }));
    const at = hostCandidates(offer).find((c) => c.address === '127.0.0.1');
    if (!at) throw new HarnessError('the data-channel echo gathered no 127.0.0.1 candidate');
    fwd = await spawnForwarder({ relayPort: at.port, c2s: clean, s2c: clean, seed: 0 });
    ping = await startDcPing(pointCandidatesAt(offer, fwd.address), (rtt) => p50s.push(rtt[0]));
    await echo.call({ op: 'accept', sdp: ping.answer });
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      ping.opened,
      new Promise((_, reject) => (timer = setTimeout(() => reject(new HarnessError('the data-channel ping did not open through the forwarder')), OPEN_TIMEOUT_MS))),
    ]).finally(() => clearTimeout(timer));
  } catch (e) {
    ping?.stop();
    await fwd?.close();
    await closeEcho();
    throw e;
  }
  const running = { ping, fwd };
  return {
    async stop() {
      running.ping.stop();
      await running.fwd.close();
      await closeEcho();
      return medianOfSeconds('data-channel', p50s);
    },
  };
}
