// Runs one loaded scenario: a survey with a download, probe and load connections through one forwarder, beside its log.
import type { ForwarderLog } from './forwarder.js';
import { HarnessError } from './harness-error.js';
import type { LoadClientResult } from './load-client-messages.js';
import { loadTruth, type LoadTruth } from './load-truth.js';
import type { RelayApart } from './relay-apart.js';
import type { Scenario } from './scenarios.js';
import { runLoadClient } from './spawn-load-client.js';
import { spawnForwarder } from './spawn-forwarder.js';

export interface LoadScenarioResult {
  scenario: Scenario;
  seconds: number;
  truth: LoadTruth;
  /** What NetPoke's client measured: idle and loaded round trips, RPM, and each second's goodput. */
  measured: LoadClientResult;
  /** Load-connection datagrams the forwarder carried towards the client (proof the load went through it). */
  loadDatagrams: number;
  log: ForwarderLog;
}

/** Runs `scenario` (one with `load`) for `seconds` with a download; throws HarnessError if the run is not sound. */
export async function runLoadScenario(relay: Pick<RelayApart, 'url' | 'relayId' | 'udpPort' | 'loadUdpPort'>, scenario: Scenario, seconds: number): Promise<LoadScenarioResult> {
  const fwd = await spawnForwarder({ relayPort: relay.udpPort, loadRelayPort: relay.loadUdpPort, c2s: scenario.c2s, s2c: scenario.s2c, seed: scenario.seed });
  try {
    if (!fwd.loadAddress) throw new HarnessError('the forwarder opened no socket for load connections');
    const measured = await runLoadClient(relay, fwd.address, fwd.loadAddress, seconds * 1000);
    if (measured.errors.length) throw new HarnessError(`survey errors: ${measured.errors.join('; ')}`);
    if (measured.throughputFailed || measured.stoppedBy !== 'duration') throw new HarnessError(`the survey ended by ${measured.stoppedBy}, throughput failed: ${measured.throughputFailed}`);
    const { idle, loaded } = measured.responsiveness;
    if (!idle || !loaded) throw new HarnessError('the client measured no idle or no loaded round trips');
    const log = await fwd.log();
    const loadDatagrams = log.s2c.filter((r) => r.load).length;
    if (loadDatagrams === 0) throw new HarnessError('bypass: no load-connection datagram went through the forwarder');
    // The loaded round trip's truth assumes the same fixed delay each way (as every load scenario has).
    const truth = loadTruth(log, measured.seconds, idle.p50_ms, scenario.s2c.delayMs);
    if (truth.loadedSeconds.length === 0) throw new HarnessError('no second was loaded from end to end: run longer (--seconds)');
    if (!truth.queued.c2s.samples || !truth.queued.s2c.samples) throw new HarnessError('bypass: the forwarder carried no probe-connection data in a loaded second');
    return { scenario, seconds, truth, measured, loadDatagrams, log };
  } finally {
    await fwd.close();
  }
}
