// The relay under test in a process of its own (relay/main.ts), as deployed: nothing of the harness, the
// test runner or the database server shares the event loop that timestamps its probes.
import { startRelayProcess } from '../bench/relay-process.js';
import { freeUdpPort } from '../test/helpers/system.js';

export interface RelayApart {
  url: string;
  relayId: string;
  udpPort: number;
  /** Its RELAY_LOAD_UDP_PORT: throughput tests' load connections, which the load scenarios put through the forwarder too. */
  loadUdpPort: number;
  stop(): Promise<void>;
}

/** Starts a relay process against the database at `dbUrl`, writing captures under `dataDir`. */
export async function startRelayApart(db: { url: string; token: string }, dataDir: string): Promise<RelayApart> {
  const [udpPort, loadUdpPort] = [await freeUdpPort(), await freeUdpPort()];
  const relay = await startRelayProcess(db.url, db.token, dataDir, { RELAY_UDP_PORT: String(udpPort), RELAY_LOAD_UDP_PORT: String(loadUdpPort), RELAY_ID: 'accuracy-relay' });
  return { url: relay.url, relayId: relay.relayId, udpPort, loadUdpPort, stop: relay.stop };
}
