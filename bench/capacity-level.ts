// Runs one load level: the process under test (a relay with its database, or the bare echo) in its own process, the
// clients in worker processes, and a steady span read only at its two ends, so nothing the bench does lands inside it.
import { createServer } from 'node:net';
import { cpus } from 'node:os';
import { testKeyId, type TestDb } from '../test/helpers/system.js';
import { bareLevelFigures, machineShare, relayLevelFigures, type BareLevelFigures, type MachineEdge, type RelayLevelFigures } from './capacity-figures.js';
import { BENCH_KEY, type CapacityArgs, type Records } from './capacity-messages.js';
import { spawnCapacityWorker, type CapacityWorker } from './capacity-worker-process.js';
import { startRelayProcess, type RelayProcess } from './relay-process.js';
import { combineScrapes, scrapeRelay } from './relay-scrape.js';

export interface LevelTiming {
  /** Steady seconds measured. */
  seconds: number;
  /** Wait after every session is probing, before the span opens (the last DTLS handshakes and survey rows settle). */
  settleMs: number;
}

/** Clients per worker process: the client load is spread so no one process's loop falls behind its sessions. */
export const SESSIONS_PER_WORKER = 25;
const MAX_WORKERS = 8;
/** After the span closes, every client's next window (the one that brackets the end) must close before the workers stop. */
const AFTER_SPAN_MS = 1_500;
/** Every worker must have its sessions probing within this. */
const SET_UP_TIMEOUT_MS = 180_000;
/** How long a fresh relay runs before its idle RSS is read. */
const IDLE_MS = 2_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Splits `n` sessions over worker processes as evenly as they go. */
export function splitSessions(n: number): number[] {
  const workers = Math.min(MAX_WORKERS, Math.ceil(n / SESSIONS_PER_WORKER));
  return Array.from({ length: workers }, (_, i) => Math.floor(n / workers) + (i < n % workers ? 1 : 0));
}

/** Adds a worker's records to the level's. */
function collect(into: Records, r: Records): void {
  for (const w of r.windows) into.windows.push(w);
  for (const s of r.sent) into.sent.push(s);
}

/** A TCP port nothing listens on right now (for the relay's ops port). */
async function freeTcpPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const address = server.address();
  await new Promise<void>((r) => server.close(() => r()));
  if (!address || typeof address === 'string') throw new Error('no TCP port');
  return address.port;
}

/** The machine's CPU times (all cores, every process) and the client workers' own CPU, at one end of the span. */
async function machineEdge(clients: readonly CapacityWorker[]): Promise<MachineEdge> {
  const usages = await Promise.all(clients.map((w) => w.usage()));
  let busyMs = 0;
  let totalMs = 0;
  for (const { times } of cpus()) {
    busyMs += times.user + times.nice + times.sys + times.irq;
    totalMs += times.user + times.nice + times.sys + times.irq + times.idle;
  }
  return { busyMs, totalMs, cores: cpus().length, clientCpuUs: usages.reduce((n, u) => n + u.cpu_us, 0) };
}

/** Starts the client workers (one per entry of `args`) and waits until every session is probing; on failure stops those started and throws. */
async function startClients(args: readonly CapacityArgs[], onRecords: (r: Records) => void): Promise<CapacityWorker[]> {
  const n = args.reduce((sum, a) => sum + ('sessions' in a ? a.sessions : 0), 0);
  const workers = args.map((a) => spawnCapacityWorker(a, onRecords));
  let timer: ReturnType<typeof setTimeout> | undefined;
  // A worker stuck in set-up (a native deadlock, a peer that never answers) must end the level, not hang the bench.
  const tooLong = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`set-up of ${n} sessions took over ${SET_UP_TIMEOUT_MS / 1000} s`)), SET_UP_TIMEOUT_MS);
  });
  try {
    await Promise.race([Promise.all(workers.map((w) => w.ready)), tooLong]);
  } catch (e) {
    await Promise.all(workers.map((w) => w.stop()));
    throw e;
  } finally {
    clearTimeout(timer);
  }
  return workers;
}

/** `n` split as evenly as it goes over `parts`. */
function shares(n: number, parts: number): number[] {
  return Array.from({ length: parts }, (_, i) => Math.floor(n / parts) + (i < n % parts ? 1 : 0));
}

/**
 * `n` survey sessions against `processes` fresh relay processes (default 1),
 * each with its own id, ports and ops port, registered separately, the
 * sessions split evenly over them: their idle RSS first, then the clients,
 * the settle time, and the span between two scrapes of every relay's
 * /metrics (its ops port), summed as one relay; nothing else reaches the
 * relays in between.
 */
export async function measureRelayLevel(db: TestDb, n: number, timing: LevelTiming, processes = 1): Promise<RelayLevelFigures> {
  await testKeyId(BENCH_KEY);
  const relays: { process: RelayProcess; metricsUrl: string }[] = [];
  const records: Records = { windows: [], sent: [] };
  let workers: CapacityWorker[] = [];
  const scrapeAll = async () => combineScrapes(await Promise.all(relays.map((r) => scrapeRelay(r.metricsUrl))));
  try {
    for (let i = 0; i < processes; i++) {
      const metricsPort = await freeTcpPort();
      const env = { RELAY_METRICS_PORT: String(metricsPort), RELAY_ID: processes === 1 ? 'bench-relay' : `bench-relay-${i + 1}` };
      relays.push({ process: await startRelayProcess(db.url, db.authToken, db.dir, env), metricsUrl: `http://127.0.0.1:${metricsPort}` });
    }
    // The idle figure once start-up (compiling, the schema check, first heartbeat) has passed.
    await sleep(IDLE_MS);
    const idle = await scrapeAll();
    const perRelay = shares(n, processes);
    const args = relays.flatMap(({ process: r }, i) =>
      perRelay[i]! > 0 ? splitSessions(perRelay[i]!).map((sessions): CapacityArgs => ({ mode: 'relay-clients', url: r.url, relayId: r.relayId, sessions })) : [],
    );
    workers = await startClients(args, (r) => collect(records, r));
    await sleep(timing.settleMs);
    const [start, machineStart] = await Promise.all([scrapeAll(), machineEdge(workers)]);
    await sleep(timing.seconds * 1000);
    const [end, machineEnd] = await Promise.all([scrapeAll(), machineEdge(workers)]);
    await sleep(AFTER_SPAN_MS);
    // Each worker sends the windows it still holds before it stops.
    await Promise.all(workers.map((w) => w.stop()));
    workers = [];
    return { ...relayLevelFigures(n, idle, start, end, records), machine: machineShare(machineStart, machineEnd, (end.at - start.at) / 1000) };
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
    await Promise.all(relays.map((r) => r.process.stop()));
  }
}

/** `n` sessions of the same probing through the bare node-datachannel echo in its own process; its CPU read by itself at the span's ends. */
export async function measureBareLevel(n: number, timing: LevelTiming): Promise<BareLevelFigures> {
  const records: Records = { windows: [], sent: [] };
  const onRecords = (r: Records) => collect(records, r);
  const server = spawnCapacityWorker({ mode: 'bare-server' }, onRecords);
  let clients: CapacityWorker[] = [];
  try {
    const { url } = await server.ready;
    if (!url) throw new Error('bare server gave no URL');
    clients = await startClients(
      splitSessions(n).map((sessions) => ({ mode: 'bare-clients', url, sessions })),
      onRecords,
    );
    await sleep(timing.settleMs);
    const [start, machineStart] = await Promise.all([server.usage(), machineEdge(clients)]);
    await sleep(timing.seconds * 1000);
    const [end, machineEnd] = await Promise.all([server.usage(), machineEdge(clients)]);
    await sleep(AFTER_SPAN_MS);
    await Promise.all(clients.map((w) => w.stop()));
    clients = [];
    await server.stop();
    return { ...bareLevelFigures(n, start, end, records.windows), machine: machineShare(machineStart, machineEnd, (end.at - start.at) / 1000) };
  } finally {
    await Promise.all(clients.map((w) => w.stop()));
    await server.stop();
  }
}
