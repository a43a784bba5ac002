// The path's own round trip: bare UDP through an unimpaired forwarder, between processes laid out as in a scenario.
import * as z from 'zod';
import { startUdpPing } from '../bench/udp-ping.js';
import { nearestRank } from '../shared/stats/percentiles.js';
import { HarnessError } from './harness-error.js';
import { forkTs } from './ipc.js';
import { spawnForwarder } from './spawn-forwarder.js';

const clean = { delayMs: 0, jitterMs: 0, lossPct: 0, reorderPct: 0 };

/**
 * RTT p50 (median of each second's p50) of a UDP ping every 10 ms from this
 * process, through a forwarder that injects nothing, to an echo in another
 * process: what any tool would read on this path before NetPoke's own stack,
 * i.e. the floor under "NetPoke − injected".
 */
export async function measurePathBase(seconds: number): Promise<{ rttP50: number }> {
  const echo = forkTs(new URL('./udp-echo-process.ts', import.meta.url));
  try {
    const { port } = z.object({ port: z.number().int() }).parse(await echo.call({ op: 'start' }));
    const fwd = await spawnForwarder({ relayPort: port, c2s: clean, s2c: clean, seed: 0 });
    try {
      const p50s: number[] = [];
      const ping = await startUdpPing(fwd.address.port, 1, (rtt) => p50s.push(rtt[0]));
      await new Promise((r) => setTimeout(r, seconds * 1000 + 100));
      ping.stop();
      if (p50s.length === 0) throw new HarnessError('no UDP ping came back through the unimpaired forwarder');
      return { rttP50: nearestRank([...p50s].sort((a, b) => a - b), 50) };
    } finally {
      await fwd.close();
    }
  } finally {
    await echo.call({ op: 'close' }).catch(() => undefined);
    await echo.exited(2_000);
  }
}
