// Where `npm start`'s relay listens: both loopbacks by default (so the page's "both" measures IPv6 locally too),
// the operator's choice when given, IPv4 alone where the machine has no IPv6.
import { describe, expect, it } from 'vitest';
import { localRelayAddresses } from '../../local/relay-addresses.js';

describe('local relay addresses', () => {
  it('binds :: announcing 127.0.0.1 and ::1 by default, 127.0.0.1 without IPv6, and keeps what the operator set', () => {
    expect(localRelayAddresses({}, true)).toEqual({ bind: '::', publicAddresses: '127.0.0.1,::1' });
    expect(localRelayAddresses({}, false)).toEqual({ bind: '127.0.0.1' });
    expect(localRelayAddresses({ RELAY_BIND_ADDRESS: '127.0.0.1' }, true)).toEqual({ bind: '127.0.0.1' });
    expect(localRelayAddresses({ RELAY_BIND_ADDRESS: '0.0.0.0' }, true)).toEqual({ bind: '0.0.0.0' });
    // A public address alone: the relay's own default bind, its addresses as given (relayConfigFromEnv reads them).
    expect(localRelayAddresses({ RELAY_PUBLIC_ADDRESS: '192.0.2.7' }, true)).toEqual({ bind: '127.0.0.1' });
    expect(localRelayAddresses({ RELAY_BIND_ADDRESS: '' }, true)).toEqual({ bind: '::', publicAddresses: '127.0.0.1,::1' });
  });
});
