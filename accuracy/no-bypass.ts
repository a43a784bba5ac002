// Proof that the survey's traffic went through the forwarder, so what it logged is what the survey met.
import type { ForwarderLog } from './forwarder.js';
import { HarnessError } from './harness-error.js';

/** Fewer data-channel datagrams than this in a second of probing (100 probes a second each way) means traffic took another path. */
const MIN_PER_SECOND = 50;

/**
 * Throws unless the relay's selected client address is the forwarder's one
 * upstream socket and the forwarder carried data-channel traffic both ways in
 * every whole second of probing.
 */
export function checkNoBypass(log: ForwarderLog, relaySawClient: { ip: string; port: number } | null, probedMs: number): void {
  if (log.upstreams.length !== 1) throw new HarnessError(`expected one client behind the forwarder, saw ${log.upstreams.length}`);
  const up = log.upstreams[0]!;
  if (!relaySawClient) throw new HarnessError('the relay capture names no client address');
  if (relaySawClient.ip !== '127.0.0.1' || relaySawClient.port !== up.port) {
    throw new HarnessError(`bypass: the relay selected client ${relaySawClient.ip}:${relaySawClient.port}, the forwarder's upstream is 127.0.0.1:${up.port}`);
  }
  const armed = [...log.c2s, ...log.s2c].filter((r) => r.armed);
  if (armed.length === 0) throw new HarnessError('the forwarder saw no traffic while probing');
  const t0 = Math.min(...armed.map((r) => r.atMs));
  const seconds = Math.floor(probedMs / 1000);
  for (const dir of ['c2s', 's2c'] as const) {
    const perSecond = new Array<number>(seconds).fill(0);
    for (const r of log[dir]) {
      const k = Math.floor((r.atMs - t0) / 1000);
      if (r.armed && r.kind === 'dtls-app' && k >= 0 && k < seconds) perSecond[k]!++;
    }
    const thin = perSecond.findIndex((n) => n < MIN_PER_SECOND);
    if (thin >= 0) throw new HarnessError(`bypass or stall: the forwarder carried only ${perSecond[thin]} ${dir} data datagrams in second ${thin} of probing`);
  }
}
