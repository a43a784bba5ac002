// `npm run relay`: one relay process, configured from env (see README).
import { ConfigError } from '../shared/config.js';
import { SchemaBehindError } from '../shared/db/schema-version.js';
import { relayConfigFromEnv } from './config.js';
import { startRelay, type RelayHandle } from './relay.js';

// The first SIGTERM or SIGINT drains (running surveys go on up to RELAY_DRAIN_S); a second one stops at once.
// Handled from the start: one that arrives while the relay starts drains it as soon as it is up.
let relay: RelayHandle | null = null;
let signals = 0;
const act = (r: RelayHandle) => void (signals > 1 ? r.close() : r.drain()).then(() => process.exit(0));
const onSignal = () => {
  signals++;
  if (relay) act(relay);
  else if (signals > 1) process.exit(1);
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

try {
  const started = await startRelay(relayConfigFromEnv(process.env));
  relay = started;
  // A renewed certificate is taken without a restart (the relay logs the outcome; a failed reload keeps the old one).
  process.on('SIGHUP', () => void started.reloadTls().catch(() => undefined));
  if (signals > 0) act(started);
} catch (e) {
  console.error(e instanceof ConfigError || e instanceof SchemaBehindError ? `relay: ${e.message}` : e);
  process.exit(1);
}
