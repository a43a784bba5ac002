/** Plain words for every error a survey can end with: what a technician in the field reads. */
const TEXT: Record<string, string> = {
  auth_required: 'A magic key is needed: open the link you were given, or type the key.',
  key_invalid: "This link's key is not valid. Check the link you were given.",
  key_expired: 'This link has expired. Ask for a new one.',
  key_revoked: 'This link has been revoked. Ask for a new one.',
  key_limit_reached: 'Too many surveys are running with this key right now. Stop another one, or try again shortly.',
  rate_limited: 'Too many wrong keys were tried from here. Wait a few minutes, then try again.',
  no_relay: 'No measurement server is available right now. Try again in a minute.',
  relay_failed: 'The measurement server did not answer. Try again in a minute.',
  ice_timeout: 'Could not connect to the measurement server: this network may block the UDP traffic NetPoke needs.',
  channel_closed: 'The connection dropped during the survey. The measurements so far are saved.',
  network_error: 'Cannot reach NetPoke: check that this device is online.',
  invalid_request: 'The server refused the request this page sent. Reload the page and try again.',
  too_large: 'The server refused the request this page sent as too large. Reload the page and try again.',
  time_limit_reached: "This key's measuring time is used up.",
};

/** The sentence shown for an error code (falls back to the server's own message). */
export function errorText(code: string, message?: string): string {
  // A survey wider (families × paths) than the key's limit: the edge's own words say by how much.
  if (code === 'key_limit_reached' && message && /connections at once/.test(message)) return `This key cannot hold the connections asked for: ${message}.`;
  return TEXT[code] ?? (message ? `Something went wrong: ${message}` : `Something went wrong (${code}).`);
}

/** "mm:ss" for a number of milliseconds (never negative). */
export function formatClock(ms: number): string {
  const s = Math.max(0, Math.ceil(ms / 1000));
  return `${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
}
