// The relay's TLS and address settings as read from env: what starts, and what is refused in words.
import { describe, expect, it } from 'vitest';
import { relayConfigFromEnv } from '../../relay/config.js';

const base = { LIBSQL_URL: 'http://127.0.0.1:1', RELAY_SHARED_SECRET: 'test-shared-secret-0123456789abcdef' };
const deployed = (env: Record<string, string>) => () => relayConfigFromEnv({ ...base, ...env });
const pair = { RELAY_TLS_CERT_FILE: '/etc/netpoke/relay.pem', RELAY_TLS_KEY_FILE: '/etc/netpoke/relay.key' };

describe('relay TLS settings', () => {
  it('allows plain http in local mode only', () => {
    const local = relayConfigFromEnv({ ...base, NETPOKE_MODE: 'local' });
    expect([local.internalUrl, local.tls]).toEqual([undefined, undefined]);
    expect(deployed({})).toThrow(/RELAY_INTERNAL_URL: is plain http \(http:\/\/RELAY_HOST:RELAY_PORT\): outside local mode/);
    expect(deployed({ RELAY_INTERNAL_URL: 'http://eu-1.relays.example' })).toThrow(/is plain http \(http:\/\/eu-1\.relays\.example\)/);
  });

  it('serves HTTPS itself with a certificate and key, both or neither', () => {
    expect(deployed(pair)()).toMatchObject({ tls: { certFile: pair.RELAY_TLS_CERT_FILE, keyFile: pair.RELAY_TLS_KEY_FILE } });
    expect(deployed({ ...pair, RELAY_INTERNAL_URL: 'https://eu-1.relays.example' })()).toMatchObject({ internalUrl: 'https://eu-1.relays.example' });
    expect(deployed({ RELAY_TLS_CERT_FILE: pair.RELAY_TLS_CERT_FILE })).toThrow(/RELAY_TLS_KEY_FILE: must be set too/);
    expect(deployed({ ...pair, RELAY_INTERNAL_URL: 'http://eu-1.relays.example', NETPOKE_MODE: 'local' })).toThrow(/but the relay serves HTTPS/);
  });

  it('takes a TLS-terminating proxy in front only when told, with its https:// URL', () => {
    const proxied = deployed({ RELAY_BEHIND_TLS_PROXY: 'true', RELAY_INTERNAL_URL: 'https://eu-1.relays.example' })();
    expect([proxied.internalUrl, proxied.tls]).toEqual(['https://eu-1.relays.example', undefined]);
    expect(deployed({ RELAY_INTERNAL_URL: 'https://eu-1.relays.example' })).toThrow(/the relay has no certificate: set RELAY_TLS_CERT_FILE .* or RELAY_BEHIND_TLS_PROXY=true/);
    expect(deployed({ RELAY_BEHIND_TLS_PROXY: 'true' })).toThrow(/must be the https:\/\/ URL of the reverse proxy/);
    expect(deployed({ ...pair, RELAY_BEHIND_TLS_PROXY: 'true', RELAY_INTERNAL_URL: 'https://eu-1.relays.example' })).toThrow(/RELAY_BEHIND_TLS_PROXY: cannot be true with RELAY_TLS_CERT_FILE/);
    expect(deployed({ RELAY_BEHIND_TLS_PROXY: 'maybe' })).toThrow(/RELAY_BEHIND_TLS_PROXY/);
  });
});

describe('relay public addresses', () => {
  const local = (env: Record<string, string>) => () => relayConfigFromEnv({ ...base, NETPOKE_MODE: 'local', ...env });

  it('takes a comma-separated list of both families on a dual-stack bind address', () => {
    expect(local({ RELAY_PUBLIC_ADDRESS: '203.0.113.7, 2001:db8::7', RELAY_BIND_ADDRESS: '::' })()).toMatchObject({ publicAddresses: ['203.0.113.7', '2001:db8::7'], bindAddress: '::' });
    expect(local({ RELAY_PUBLIC_ADDRESS: '203.0.113.7' })()).toMatchObject({ publicAddresses: ['203.0.113.7'] });
    expect(local({})().publicAddresses).toBeUndefined();
  });

  it('refuses what is not an IP address, and a family the bind address cannot take', () => {
    expect(local({ RELAY_PUBLIC_ADDRESS: '203.0.113.7,relay.example' })).toThrow(/RELAY_PUBLIC_ADDRESS: must be IPv4 \/ IPv6 addresses.*"relay\.example"/);
    expect(local({ RELAY_PUBLIC_ADDRESS: '203.0.113.7,2001:db8::7' })).toThrow(/RELAY_BIND_ADDRESS: 127\.0\.0\.1 takes IPv4 only, but RELAY_PUBLIC_ADDRESS lists 2001:db8::7: bind to ::/);
    expect(local({ RELAY_PUBLIC_ADDRESS: '203.0.113.7', RELAY_BIND_ADDRESS: '::1' })).toThrow(/::1 takes IPv6 only/);
    expect(local({ RELAY_PUBLIC_ADDRESS: '2001:db8::7', RELAY_BIND_ADDRESS: '0.0.0.0' })).toThrow(/0\.0\.0\.0 takes IPv4 only/);
  });
});
