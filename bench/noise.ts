// Noise floor: how much delay variation and RTT the instrument itself adds on a clean loopback path. The relay path
// (relay process with stats and database, headless clients) runs next to bare node-datachannel (plain peer
// connections running only the probe engine) and bare UDP ping-pong, at each load level, in one run.
import { z } from 'zod';
import { RelayLoadSchema } from '../shared/protocol/relay-api.js';
import { relayToken, startTestDb, testKeyId } from '../test/helpers/system.js';
import { BENCH_KEY } from './capacity-messages.js';
import type { NoiseSample, WorkerArgs } from './noise-messages.js';
import { diff, ms, summarise, type NoiseFigures } from './noise-summary.js';
import { cpuPerProbe, processCpuUs, spanTotals, type Usage } from './noise-cpu.js';
import { spawnNoiseWorker, type NoiseWorker } from './noise-worker-process.js';
import { startRelayProcess, type RelayProcess } from './relay-process.js';

export interface NoiseOptions {
  /** Concurrent sessions per level. */
  levels: number[];
  /** Steady-state seconds measured per path and level, after set-up. */
  seconds: number;
  /** Wait after every session is probing before measuring (DTLS handshakes stall the loops). */
  settleMs: number;
  /** A path whose sessions are not all probing by then is reported as not measured, so the bench stays bounded on a saturated machine. */
  setUpLimitMs: number;
}

const EnvSchema = z.object({
  NOISE_SECONDS: z.coerce.number().positive().max(600).default(15),
  NOISE_LEVELS: z
    .string()
    .regex(/^\d+(,\d+)*$/)
    .transform((s) => s.split(',').map(Number))
    .pipe(z.array(z.number().int().min(1).max(500)))
    .default([1, 50, 200]),
});

/** Options from NOISE_SECONDS (default 15) and NOISE_LEVELS (default "1,50,200"). */
export function noiseOptionsFromEnv(env: Record<string, string | undefined> = process.env): NoiseOptions {
  const e = EnvSchema.parse({ NOISE_SECONDS: env.NOISE_SECONDS || undefined, NOISE_LEVELS: env.NOISE_LEVELS || undefined });
  return { levels: e.NOISE_LEVELS, seconds: e.NOISE_SECONDS, settleMs: 2_000, setUpLimitMs: 60_000 };
}

/** Clients per worker process: the client load is spread so no one process's loop dominates what it measures. */
const SESSIONS_PER_WORKER = 25;
const MAX_WORKERS = 8;
/** The targets. */
const RTT_P50_OVER_UDP_MS = 0.5;
const IPDV_P99_MS = 2;
const IPDV_TARGET_SESSIONS = 50;

/** Splits `n` sessions over worker processes. */
function split(n: number): number[] {
  const workers = Math.min(MAX_WORKERS, Math.ceil(n / SESSIONS_PER_WORKER));
  return Array.from({ length: workers }, (_, i) => Math.floor(n / workers) + (i < n % workers ? 1 : 0));
}

const sessionsText = (n: number) => `${n} session${n === 1 ? '' : 's'}`;
const pct = (v: number | null) => (v === null ? 'n/a' : v.toFixed(3));

const sleep = (msec: number) => new Promise((r) => setTimeout(r, msec));

/** One path at one level: an optional server worker, the client workers, and what to do around the steady window. */
interface PathRun {
  n: number;
  server: WorkerArgs | null;
  clients: (at: { url?: string; port?: number }, sessions: number) => WorkerArgs;
  settleMs: number;
  /** Called as the steady window opens and closes (e.g. to read the relay's own timer slip over it). */
  steady?: { open(): Promise<void>; close(): Promise<void> };
  /** The relay's process, when the path runs through one: its CPU per probe is read from /proc. */
  relayPid?: number;
}

/** Runs one path at one level; a path that cannot be set up is reported as failed, and the other paths and levels go on. */
async function measure(opts: NoiseOptions, run: PathRun): Promise<NoiseFigures> {
  try {
    return await measureSteady(opts, run);
  } catch (e) {
    return { ...summarise([]), failed: String((e as Error)?.message ?? e).split('\n')[0]!.slice(0, 200) };
  }
}

/** Runs one path at one level; keeps the samples of the windows that closed within the steady window. */
async function measureSteady(opts: NoiseOptions, run: PathRun): Promise<NoiseFigures> {
  const samples: NoiseSample[] = [];
  const steady = { from: Infinity, to: Infinity };
  const onSamples = (s: NoiseSample[]) => samples.push(...s);
  const servers: NoiseWorker[] = [];
  const clients: NoiseWorker[] = [];
  const serverUsage: Usage[][] = [];
  const clientUsage: Usage[][] = [];
  /** A series of a process's running totals, kept for the per-probe CPU figures. */
  const series = (group: Usage[][]) => {
    const s: Usage[] = [];
    group.push(s);
    return (u: Usage) => s.push(u);
  };
  try {
    let at = {};
    if (run.server) {
      servers.push(spawnNoiseWorker(run.server, onSamples, series(serverUsage)));
      at = await servers[0]!.ready;
    }
    clients.push(...split(run.n).map((sessions) => spawnNoiseWorker(run.clients(at, sessions), onSamples, series(clientUsage))));
    let limit: ReturnType<typeof setTimeout> | undefined;
    const tooLong = new Promise<never>((_, reject) => {
      limit = setTimeout(() => reject(new Error(`set-up of ${sessionsText(run.n)} took over ${opts.setUpLimitMs / 1000} s`)), opts.setUpLimitMs);
    });
    await Promise.race([Promise.all(clients.map((w) => w.ready)), tooLong]).finally(() => clearTimeout(limit));
    await sleep(run.settleMs);
    await run.steady?.open();
    steady.from = Date.now();
    const relayFrom = run.relayPid !== undefined ? processCpuUs(run.relayPid) : null;
    await sleep(opts.seconds * 1000);
    steady.to = Date.now();
    const relayTo = run.relayPid !== undefined ? processCpuUs(run.relayPid) : null;
    await run.steady?.close();
    if (relayFrom !== null && relayTo !== null) {
      // The relay is no worker: its CPU from /proc at the window's edges, over the probes its clients received (it receives about as many).
      serverUsage.push([
        { at: steady.from, cpuUs: relayFrom, probes: 0 },
        { at: steady.to, cpuUs: relayTo, probes: spanTotals(clientUsage, steady.from, steady.to).probes },
      ]);
    }
  } finally {
    // Each worker sends what it still holds before it stops.
    await Promise.all(clients.map((w) => w.stop()));
    await Promise.all(servers.map((w) => w.stop()));
  }
  return {
    ...summarise(samples.filter((s) => s.at > steady.from && s.at <= steady.to)),
    clientUsPerProbe: cpuPerProbe(clientUsage, steady.from, steady.to),
    serverUsPerProbe: cpuPerProbe(serverUsage, steady.from, steady.to),
  };
}


/** The relay's load report; `resetSlip` starts its timer-slip record afresh. */
async function relayLoad(relay: RelayProcess, resetSlip = false) {
  const token = await relayToken(relay, { op: 'load' });
  const resp = await fetch(`${relay.url}/internal/load${resetSlip ? '?reset_slip=1' : ''}`, { headers: { authorization: `Bearer ${token}` } });
  return RelayLoadSchema.parse(await resp.json());
}

/** Waits until the relay has closed every session of the last level, so levels don't overlap. */
async function relayIdle(relay: RelayProcess): Promise<void> {
  for (let i = 0; i < 100 && (await relayLoad(relay)).active_sessions > 0; i++) await sleep(100);
}

/** One level's figures for the three paths. */
export interface NoiseLevel {
  n: number;
  relay: NoiseFigures;
  bare: NoiseFigures;
  udp: NoiseFigures;
  /** How late the relay's probe timer fired over the steady window, p99 (ms); null if the relay did not say. */
  relaySlipP99: number | null;
}

const started = Date.now();
function progress(text: string) {
  if (process.stderr.isTTY) process.stderr.write(`  … ${((Date.now() - started) / 1000).toFixed(0)} s: ${text}\n`);
}

/** The noise bench: per level, the relay path's RTT, delay-variation and IPDV figures beside bare node-datachannel's and bare UDP's. */
export async function benchNoise(opts: NoiseOptions = noiseOptionsFromEnv()): Promise<Record<string, number | string>> {
  return noiseReport(opts, await measureNoise(opts));
}

/** Measures every level: the relay path, then bare node-datachannel, then bare UDP, each on its own. */
export async function measureNoise(opts: NoiseOptions): Promise<NoiseLevel[]> {
  const db = await startTestDb();
  await testKeyId(BENCH_KEY);
  const levels: NoiseLevel[] = [];
  try {
    const relay = await startRelayProcess(db.url, db.authToken, db.dir);
    try {
      for (const n of opts.levels) {
        progress(`${sessionsText(n)}: relay path`);
        let relaySlipP99: number | null = null;
        const relayFigures = await measure(opts, {
          n,
          server: null,
          clients: (_, sessions) => ({ mode: 'relay-clients', url: relay.url, relayId: relay.relayId, sessions }),
          settleMs: opts.settleMs,
          ...(relay.child.pid !== undefined ? { relayPid: relay.child.pid } : {}),
          steady: {
            open: async () => void (await relayLoad(relay, true)),
            close: async () => void (relaySlipP99 = (await relayLoad(relay)).timer_slip_p99_ms ?? null),
          },
        });
        await relayIdle(relay);
        progress(`${sessionsText(n)}: bare node-datachannel`);
        const bare = await measure(opts, {
          n,
          server: { mode: 'bare-server' },
          clients: (at, sessions) => ({ mode: 'bare-clients', url: at.url ?? '', sessions }),
          settleMs: opts.settleMs,
        });
        progress(`${sessionsText(n)}: bare UDP`);
        // No handshakes to settle after: a moment for the sockets is enough.
        const udp = await measure(opts, { n, server: { mode: 'udp-echo' }, clients: (at, sessions) => ({ mode: 'udp-ping', port: at.port ?? 0, sessions }), settleMs: 500 });
        levels.push({ n, relay: relayFigures, bare, udp, relaySlipP99 });
      }
    } finally {
      await relay.stop();
    }
  } finally {
    await db.close();
  }
  return levels;
}

/** Microseconds with one decimal, or n/a. */
function us(v: number | null | undefined): string {
  return v === null || v === undefined ? 'n/a' : v.toFixed(1);
}

/** The printed rows: figures side by side per level, then PASS/MISS against the targets (a report, not a failure). */
export function noiseReport(opts: NoiseOptions, levels: NoiseLevel[]): Record<string, string> {
  const out: Record<string, string> = {
    'set-up': `loopback, no impairment; ${opts.seconds} s steady per path and level, after set-up + ${opts.settleMs / 1000} s; clients in child processes (${SESSIONS_PER_WORKER} a process, at most ${MAX_WORKERS} processes), the relay in its own with its database`,
    'figures (ms)': `over session-direction-seconds, both directions: RTT p50/p99 = median of each second's p50/p99; delay-var and IPDV = each second's p99`,
  };
  for (const { n, relay, bare, udp, relaySlipP99 } of levels) {
    const at = `${sessionsText(n)}:`;
    const row = (name: string, pick: (f: NoiseFigures) => number | null, withUdp: boolean) => {
      const cells = [`relay ${ms(pick(relay))}`, `bare ndc ${ms(pick(bare))}`];
      if (withUdp) cells.push(`udp ${ms(pick(udp))}`);
      cells.push(`relay − bare ${diff(pick(relay), pick(bare))}`);
      if (withUdp) cells.push(`relay − udp ${diff(pick(relay), pick(udp), false)}`);
      out[`${at} ${name}`] = cells.join(' | ');
    };
    row('RTT p50', (f) => f.rttP50, true);
    row('RTT p99', (f) => f.rttP99, true);
    row('delay-var p99, median of seconds', (f) => f.dvP99Median, false);
    row('delay-var p99, max of seconds', (f) => f.dvP99Max, false);
    row('IPDV p99, median of seconds', (f) => f.ipdvP99Median, false);
    const failed = Object.entries({ relay, bare, udp }).flatMap(([path, f]) => (f.failed ? [`${path}: ${f.failed}`] : []));
    if (failed.length > 0) out[`${at} NOT MEASURED`] = failed.join(' | ');
    out[`${at} probes lost or late % (saturation check)`] = `relay ${pct(relay.lossPct)} | bare ndc ${pct(bare.lossPct)}`;
    out[`${at} relay's own probe-timer slip p99`] = ms(relaySlipP99);
    out[`${at} CPU µs per probe received`] = `relay path: client ${us(relay.clientUsPerProbe)}, relay ${us(relay.serverUsPerProbe)} | bare ndc: client ${us(bare.clientUsPerProbe)}, echo ${us(bare.serverUsPerProbe)}`;
    out[`${at} session-direction-seconds used`] = `relay ${relay.rttSeconds} RTT / ${relay.delaySeconds} delay | bare ndc ${bare.rttSeconds} / ${bare.delaySeconds} | udp ${udp.rttSeconds}`;
  }
  out[`target: relay RTT p50 ≤ bare UDP + ${RTT_P50_OVER_UDP_MS} ms`] = levels
    .map(({ n, relay, udp }) => {
      if (relay.rttP50 === null || udp.rttP50 === null) return `${n}: n/a`;
      const over = relay.rttP50 - udp.rttP50;
      return `${n}: ${over <= RTT_P50_OVER_UDP_MS ? 'PASS' : 'MISS'} (${diff(relay.rttP50, udp.rttP50, false)})`;
    })
    .join(' · ');
  const at50 = levels.find((l) => l.n === IPDV_TARGET_SESSIONS)?.relay.ipdvP99Median;
  out[`target: relay IPDV p99 < ${IPDV_P99_MS} ms at ${IPDV_TARGET_SESSIONS} sessions`] =
    at50 === undefined ? `not run (no ${IPDV_TARGET_SESSIONS}-session level)` : at50 === null ? 'n/a' : `${at50 < IPDV_P99_MS ? 'PASS' : 'MISS'} (${ms(at50)}, median of seconds)`;
  return out;
}
