// A relay in its own process (real relay/main.ts with its database), so a bench's clients don't share its event loop.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { freeUdpPort, TEST_SECRET } from '../test/helpers/system.js';

export interface RelayProcess {
  child: ChildProcess;
  url: string;
  relayId: string;
  /** Stops the relay (SIGTERM: its drain, bounded by RELAY_DRAIN_S, 0 unless `env` says otherwise) and waits for it to exit. */
  stop(): Promise<void>;
}

/** Starts `relay/main.ts` on free ports against the given database; resolves once /health answers. `env` adds to (or overrides) its environment. */
export async function startRelayProcess(dbUrl: string, dbToken: string, dataDir: string, env: Record<string, string> = {}): Promise<RelayProcess> {
  const port = 20000 + Math.floor(Math.random() * 20000);
  const relayId = env.RELAY_ID ?? 'bench-relay';
  // RELAY_CPU_PROF_DIR: each bench relay writes a V8 CPU profile there when it exits (npm run profile:relay reads them;
  // the bare echo writes its own under bare/).
  const profile = process.env.RELAY_CPU_PROF_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.RELAY_CPU_PROF_DIR}`] : [];
  const child = spawn(process.execPath, [...profile, '--import', 'tsx', fileURLToPath(new URL('../relay/main.ts', import.meta.url))], {
    env: {
      ...process.env,
      // Plain http on loopback, as npm start's relay.
      NETPOKE_MODE: 'local',
      RELAY_ID: relayId,
      RELAY_PORT: String(port),
      RELAY_UDP_PORT: String(await freeUdpPort()),
      RELAY_CAPACITY: '1000',
      RELAY_SHARED_SECRET: TEST_SECRET,
      RELAY_LOG_LEVEL: 'error',
      // stop() means now: SIGTERM's drain tells any survey still running at once rather than after 15 min.
      RELAY_DRAIN_S: '0',
      LIBSQL_URL: dbUrl,
      LIBSQL_AUTH_TOKEN: dbToken,
      NETPOKE_DATA_DIR: dataDir,
      // Benches and the accuracy harness measure the relay and the probes: no raw-socket path traces beside them.
      RELAY_PATH_TRACE: 'off',
      ...env,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    if (await fetch(`${url}/health`).then((r) => r.ok, () => false)) return { child, url, relayId, stop };
    await new Promise((r) => setTimeout(r, 100));
  }
  await stop();
  throw new Error('bench relay did not start');
}
