// `npm run relay`: one relay process, configured from env (see README).
import { ConfigError } from '../shared/config.js';
import { SchemaBehindError } from '../shared/db/schema-version.js';
import { relayConfigFromEnv } from './config.js';
import { startRelay } from './relay.js';

try {
  const relay = await startRelay(relayConfigFromEnv(process.env));
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    void relay.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  // A renewed certificate is taken without a restart (the relay logs the outcome; a failed reload keeps the old one).
  process.on('SIGHUP', () => void relay.reloadTls().catch(() => undefined));
} catch (e) {
  console.error(e instanceof ConfigError || e instanceof SchemaBehindError ? `relay: ${e.message}` : e);
  process.exit(1);
}
