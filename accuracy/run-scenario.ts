// Runs one survey through the forwarder and gathers both sides of the comparison: the forwarder's log and NetPoke's rows.
import type { Client } from '@libsql/client';
import type { RelayApart } from './relay-apart.js';
import { captureClientAddr } from './capture-client.js';
import type { ForwarderLog } from './forwarder.js';
import { HarnessError } from './harness-error.js';
import { checkNoBypass } from './no-bypass.js';
import { measuredBySurvey, type MeasuredDirection } from './metric-rows.js';
import { measureUdpBase, startChannelBase, type PathBase } from './path-base.js';
import type { Scenario } from './scenarios.js';
import { spawnClient } from './spawn-client.js';
import { spawnForwarder } from './spawn-forwarder.js';
import { directionTruth, type DirectionTruth } from './truth.js';

export interface ScenarioResult {
  scenario: Scenario;
  seconds: number;
  truth: Record<'c2s' | 's2c', DirectionTruth>;
  measured: Record<'c2s' | 's2c', MeasuredDirection> & { rttP50: number; rttP99: number };
  /** The client address the relay selected, read back from its capture. */
  relaySawClient: { ip: string; port: number };
  /** Everything the forwarder did, datagram by datagram. */
  log: ForwarderLog;
  /** Bare UDP's and a bare data channel's RTT p50 on the same kind of path with nothing injected (see path-base.ts). */
  pathBase: PathBase;
}

/** Seconds of bare UDP pinging before each scenario, for its path base. */
const PATH_BASE_SECONDS = 5;

export interface Harness {
  relay: Pick<RelayApart, 'url' | 'relayId' | 'udpPort'>;
  db: Client;
  /** The relay's data directory (captures are written under it). */
  dataDir: string;
}

/** Runs `scenario` for `seconds` of probing after measuring the path's base; throws HarnessError if the run or the path is not sound. */
export async function runScenario(h: Harness, scenario: Scenario, seconds: number): Promise<ScenarioResult> {
  const rttP50 = await measureUdpBase(PATH_BASE_SECONDS);
  // Alongside the scenario, not before it: the stacks' hand-offs cost what the machine's load of that moment makes them.
  const channel = await startChannelBase();
  let probing: Omit<ScenarioResult, 'pathBase'>;
  try {
    probing = await runProbing(h, scenario, seconds);
  } catch (e) {
    await channel.stop().catch(() => undefined);
    throw e;
  }
  return { ...probing, pathBase: { rttP50, channelRttP50: await channel.stop() } };
}

async function runProbing(h: Harness, scenario: Scenario, seconds: number): Promise<Omit<ScenarioResult, 'pathBase'>> {
  const fwd = await spawnForwarder({ relayPort: h.relay.udpPort, c2s: scenario.c2s, s2c: scenario.s2c, seed: scenario.seed });
  try {
    const survey = await spawnClient(h.relay, fwd.address, undefined, scenario.startStreamsDelayMs);
    let probedMs: number;
    let stopped: { pcapAvailable: boolean; errors: string[] };
    try {
      // A late start: loss goes on as the client sends start_probe_streams, so the relay's first second is impaired
      // and the client's probes of the second before (which the relay does not listen to) must not read as loss.
      if (scenario.startStreamsDelayMs) await new Promise((r) => setTimeout(r, scenario.startStreamsDelayMs));
      await fwd.arm(true);
      const armedAt = Date.now();
      // The measurement itself: probing runs for this long.
      await new Promise((r) => setTimeout(r, seconds * 1000));
      if (!scenario.armThroughStop) await fwd.arm(false);
      probedMs = Date.now() - armedAt;
      stopped = await survey.stop();
      await fwd.arm(false);
    } finally {
      await survey.close(); // Ends the survey too if anything above threw.
    }
    if (stopped.errors.length) throw new HarnessError(`survey errors: ${stopped.errors.join('; ')}`);
    if (!stopped.pcapAvailable) throw new HarnessError('the relay saved no capture, so the client address it selected is unknown');
    // The stop's last rows are queued before its answer and leave with the relay's next batch (once a second).
    await rowsSettled(h.db, survey.surveySessionId);
    const log = await fwd.log();
    // The relay names each connection's capture; the survey row points at it.
    const row = await h.db.execute({ sql: 'SELECT pcap_path FROM survey_sessions WHERE session_id = ?', args: [survey.surveySessionId] });
    const pcapPath = row.rows[0]?.pcap_path;
    if (typeof pcapPath !== 'string') throw new HarnessError('the survey row names no capture file');
    const relaySawClient = await captureClientAddr(pcapPath, h.relay.udpPort);
    const measured = await measuredBySurvey(h.db, survey.surveySessionId);
    checkNoBypass(log, relaySawClient, probedMs, { c2s: measured.c2s.stats.probe_count, s2c: measured.s2c.stats.probe_count });
    // Probes the client sent before the relay heard start_probe_streams are not expected by it (nor dropped as loss).
    const relayListensFrom = scenario.startStreamsDelayMs ? survey.probesFromMs + scenario.startStreamsDelayMs - (log.timeOriginMs ?? 0) : -Infinity;
    return {
      scenario,
      seconds,
      truth: { c2s: directionTruth(log.c2s, relayListensFrom), s2c: directionTruth(log.s2c) },
      measured,
      relaySawClient: relaySawClient!,
      log,
    };
  } finally {
    await fwd.close();
  }
}

/** Resolves once the survey's rows have stopped changing for longer than the relay's write interval. */
async function rowsSettled(db: Client, surveyId: string): Promise<void> {
  const count = async () => Number((await db.execute({ sql: 'SELECT COUNT(*) AS n FROM survey_metrics WHERE session_id = ?', args: [surveyId] })).rows[0]!.n);
  let last = -1;
  for (let i = 0; i < 20; i++) {
    const n = await count();
    if (n === last && n > 0) return;
    last = n;
    // The relay writes once a second: two equal counts 1.5 s apart mean its last batch is in.
    await new Promise((r) => setTimeout(r, 1_500));
  }
  throw new HarnessError('the survey rows kept changing after the stop');
}
