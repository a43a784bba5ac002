import type { RelayRecord } from '../shared/db/relays.js';

/** Relays (and the URL) this isolate has already logged as refused: once each, not on every request. */
const logged = new Set<string>();

/**
 * Outside local mode, the relays whose registered internal URL is not https:// (the edge would send magic keys and
 * relay tokens to them in clear): they count as unavailable, and the edge's log says why once per relay.
 */
export function httpsRelaysOnly(relays: readonly RelayRecord[], mode: 'local' | 'deployed'): RelayRecord[] {
  if (mode === 'local') return [...relays];
  return relays.filter((r) => {
    if (URL.canParse(r.internal_url) && new URL(r.internal_url).protocol === 'https:') return true;
    const seen = `${r.id} ${r.internal_url}`;
    if (!logged.has(seen)) {
      logged.add(seen);
      console.warn(
        `edge: relay ${r.id} is never chosen: its internal URL ${r.internal_url} is not https://, and outside local mode the edge calls relays over TLS only ` +
          '(give the relay RELAY_TLS_CERT_FILE and RELAY_TLS_KEY_FILE, or a TLS-terminating proxy with RELAY_BEHIND_TLS_PROXY=true and an https:// RELAY_INTERNAL_URL)',
      );
    }
    return false;
  });
}
