// Secrets local mode keeps in its data dir: random, created once, readable by the owner only, never in the repo.
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomToken } from '../shared/ids.js';

/** The shared secret of the local edge and relay. */
export const localSecret = (dataDir: string): string => dataDirSecret(dataDir, 'local-secret');

/** The bearer token of the local database server; the relay, the edge and local tools send it as LIBSQL_AUTH_TOKEN. */
export const localDbToken = (dataDir: string): string => dataDirSecret(dataDir, 'db-token');

/** Reads `dataDir/name`, or creates it (mode 0600) with a fresh random value; the same dir always gives the same value. */
function dataDirSecret(dataDir: string, name: string): string {
  const file = join(dataDir, name);
  if (existsSync(file)) {
    const text = readFileSync(file, 'utf8').trim();
    if (text.length >= 32) {
      chmodSync(file, 0o600);
      return text;
    }
  }
  const secret = randomToken(32);
  writeSecretFile(file, `${secret}\n`);
  return secret;
}

/** Writes `text` readable by the owner only, also over a file that already exists. */
export function writeSecretFile(file: string, text: string): void {
  writeFileSync(file, text, { mode: 0o600 });
  chmodSync(file, 0o600); // writeFileSync keeps the mode of a file that already exists
}
