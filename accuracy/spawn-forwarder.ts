// The harness's handle on a forwarder running in its own process (see forwarder-process.ts).
import type { ForwarderConfig, ForwarderLog } from './forwarder.js';
import { ForwarderLogSchema, ForwarderStartedSchema, type ForwarderRequest } from './forwarder-messages.js';
import { forkTs } from './ipc.js';

export interface ForwarderProcess {
  readonly address: { ip: string; port: number };
  /** Where load connections enter (with config.loadRelayPort). */
  readonly loadAddress: { ip: string; port: number } | null;
  arm(on: boolean): Promise<void>;
  log(): Promise<ForwarderLog>;
  close(): Promise<void>;
}

/** Starts the forwarder in a child process and waits until it listens. */
export async function spawnForwarder(config: ForwarderConfig): Promise<ForwarderProcess> {
  const child = forkTs(new URL('./forwarder-process.ts', import.meta.url));
  const call = (req: ForwarderRequest) => child.call(req);
  let port: number;
  let loadPort: number | undefined;
  try {
    ({ port, loadPort } = ForwarderStartedSchema.parse(await call({ op: 'start', config })));
  } catch (e) {
    child.kill();
    throw e;
  }
  return {
    address: { ip: '127.0.0.1', port },
    loadAddress: loadPort ? { ip: '127.0.0.1', port: loadPort } : null,
    arm: async (on) => void (await call({ op: 'arm', on })),
    log: async () => ForwarderLogSchema.parse(await call({ op: 'log' })),
    async close() {
      await call({ op: 'close' }).catch(() => undefined);
      await child.exited(2_000);
    },
  };
}
