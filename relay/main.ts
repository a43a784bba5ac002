// `npm run relay`: one relay process, configured from env (see README).
import { ConfigError } from '../shared/config.js';
import { relayConfigFromEnv } from './config.js';
import { startRelay } from './relay.js';

try {
  const relay = await startRelay(relayConfigFromEnv(process.env));
  let signalled = false;
  // The first SIGTERM or SIGINT drains (running surveys go on up to RELAY_DRAIN_S); a second one stops at once.
  const stop = () => {
    const done = signalled ? relay.close() : relay.drain();
    signalled = true;
    void done.then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
} catch (e) {
  console.error(e instanceof ConfigError ? `relay: ${e.message}` : e);
  process.exit(1);
}
