// The harness's handle on a headless client running in its own process (see client-process.ts).
import type { RelayHandle } from '../relay/relay.js';
import { ClientStartedSchema, ClientStoppedSchema, type ClientRequest } from './client-messages.js';
import { forkTs } from './ipc.js';
import { testKeyId } from '../test/helpers/system.js';

export interface ClientProcess {
  readonly surveySessionId: string;
  readonly connIds: string[];
  /** When the client's probes began (epoch ms). */
  readonly probesFromMs: number;
  /** Explicit stop (the relay saves its capture); the errors the client met during the survey. */
  stop(): Promise<{ pcapAvailable: boolean; errors: string[] }>;
  /** Ends the survey if it still runs, and the process. */
  close(): Promise<void>;
}

/** Starts a survey from a client in a child process, signaling straight to `relay` but connecting through the forwarder. */
export async function spawnClient(relay: Pick<RelayHandle, 'url' | 'relayId'>, forwarder: { ip: string; port: number }, magicKey = 'accuracy', startStreamsDelayMs?: number): Promise<ClientProcess> {
  // The child signals straight to the relay, which takes only keys its database holds.
  await testKeyId(magicKey);
  const child = forkTs(new URL('./client-process.ts', import.meta.url));
  const call = (req: ClientRequest) => child.call(req);
  const close = async () => {
    await call({ op: 'close' }).catch(() => undefined);
    await child.exited(3_000);
  };
  let started;
  try {
    started = ClientStartedSchema.parse(await call({ op: 'start', relay: { url: relay.url, relayId: relay.relayId }, forwarder, magicKey, ...(startStreamsDelayMs ? { startStreamsDelayMs } : {}) }));
  } catch (e) {
    await close();
    throw e;
  }
  return {
    ...started,
    stop: async () => ClientStoppedSchema.parse(await call({ op: 'stop' })),
    close,
  };
}
