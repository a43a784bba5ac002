// The edge's refusal of plain-http relays outside local mode, logged once per relay.
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { RelayRecord } from '../../shared/db/relays.js';
import { httpsRelaysOnly } from '../../edge/relay-https.js';

const relay = (id: string, url: string): RelayRecord => ({ id, region: 'eu', public_address: '203.0.113.7:50000', internal_url: url, capacity: 10, active_sessions: 0, last_heartbeat: 1, started_at: 1 });

afterEach(() => vi.restoreAllMocks());

describe('httpsRelaysOnly', () => {
  it('keeps every relay in local mode', () => {
    const all = [relay('a', 'http://127.0.0.1:8790'), relay('b', 'https://b.relays.example')];
    expect(httpsRelaysOnly(all, 'local')).toEqual(all);
  });

  it('leaves out http:// (and unparsable) URLs outside it, saying why once per relay', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const all = [relay('x-plain', 'http://x.relays.example'), relay('x-tls', 'https://x2.relays.example'), relay('x-bad', 'not a url')];
    for (let i = 0; i < 3; i++) expect(httpsRelaysOnly(all, 'deployed').map((r) => r.id)).toEqual(['x-tls']);
    expect(warn).toHaveBeenCalledTimes(2);
    expect(String(warn.mock.calls[0]![0])).toMatch(/relay x-plain is never chosen: its internal URL http:\/\/x\.relays\.example is not https:\/\//);
  });
});
