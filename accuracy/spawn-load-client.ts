// The harness's handle on a loaded survey's client running in its own process (see load-client-process.ts).
import type { RelayHandle } from '../relay/relay.js';
import { testKeyId } from '../test/helpers/system.js';
import { forkTs } from './ipc.js';
import { LoadClientResultSchema, type LoadClientResult } from './load-client-messages.js';

type Address = { ip: string; port: number };

/** Runs a survey with a download for `durationMs` from a child process, probes through `forwarder`, load through `loadForwarder`. */
export async function runLoadClient(
  relay: Pick<RelayHandle, 'url' | 'relayId'>,
  forwarder: Address,
  loadForwarder: Address,
  durationMs: number,
  magicKey = 'accuracy-load',
): Promise<LoadClientResult> {
  // The child signals straight to the relay, which takes only keys its database holds.
  await testKeyId(magicKey);
  const child = forkTs(new URL('./load-client-process.ts', import.meta.url));
  try {
    return LoadClientResultSchema.parse(await child.call({ op: 'run', relay: { url: relay.url, relayId: relay.relayId }, forwarder, loadForwarder, magicKey, durationMs }));
  } finally {
    await child.call({ op: 'close' }).catch(() => undefined);
    await child.exited(3_000);
  }
}
