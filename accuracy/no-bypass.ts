// Proof that the survey's traffic went through the forwarder, so what it logged is what the survey met.
import type { ForwarderLog } from './forwarder.js';
import { HarnessError } from './harness-error.js';

/**
 * The fewest bytes a probe takes on the wire: a probe with no feedback and
 * no echoes is about 95 bytes of JSON, plus a 16-byte SCTP DATA chunk header.
 * Counted in bytes, not datagrams, because a sender catching up after a stall
 * bundles several probes into one SCTP packet.
 */
const MIN_PROBE_BYTES = 100;

/**
 * Throws unless the relay's selected client address is the forwarder's one
 * upstream socket, the forwarder carried data-channel traffic both ways in
 * every whole second of probing (a path that changed mid-survey would leave
 * it silent), and it carried enough application bytes each way for every
 * probe NetPoke received. A machine stall of over a second fails it too:
 * such a run measures the machine, not the path.
 */
export function checkNoBypass(
  log: ForwarderLog,
  relaySawClient: { ip: string; port: number } | null,
  probedMs: number,
  probesReceived: Record<'c2s' | 's2c', number>,
): void {
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
    let carriedBytes = 0;
    for (const r of log[dir]) {
      if (r.sentAtMs !== null && r.kind === 'dtls-app') carriedBytes += r.size;
      if (!r.armed || r.kind !== 'dtls-app') continue;
      const k = Math.floor((r.atMs - t0) / 1000);
      if (k >= 0 && k < seconds) perSecond[k]!++;
    }
    const silent = perSecond.indexOf(0);
    if (silent >= 0) throw new HarnessError(`bypass or stall: the forwarder carried no ${dir} data in second ${silent} of probing`);
    if (carriedBytes < MIN_PROBE_BYTES * probesReceived[dir]) {
      throw new HarnessError(`bypass: NetPoke received ${probesReceived[dir]} ${dir} probes, the forwarder carried only ${carriedBytes} bytes of data`);
    }
  }
}
