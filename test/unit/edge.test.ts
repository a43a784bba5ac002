// The edge's pure parts: config parsing, relay ranking, key and address extraction.
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../shared/config.js';
import { edgeConfigFromEnv } from '../../edge/config.js';
import { requestMagicKey } from '../../edge/keys.js';
import { clientAddress, ipv6Prefix64 } from '../../edge/rate-limit.js';
import { preferredRegions } from '../../edge/relay-choice.js';

const base = { LIBSQL_URL: 'http://127.0.0.1:8080', RELAY_SHARED_SECRET: '0123456789abcdef' };

describe('edge config', () => {
  it('has defaults for everything but the database and the secret', () => {
    expect(edgeConfigFromEnv(base)).toEqual({
      libsqlUrl: 'http://127.0.0.1:8080',
      libsqlAuthToken: undefined,
      secrets: { current: '0123456789abcdef' },
      mode: 'deployed',
      demoKey: null,
      regionMap: {},
      iceServers: [],
      relayFreshMs: 15_000,
      maxBodyBytes: 65_536,
      keyFailureLimit: 10,
      keyFailureWindowMs: 600_000,
      relayTimeoutMs: 8_000,
      relayFirstTimeoutMs: 2_000,
      breaker: { failures: 2, backoffMs: 10_000, maxBackoffMs: 320_000, probeHoldMs: 20_000 },
      session: { idleMs: 8 * 3_600_000, maxMs: 7 * 86_400_000 },
      loginLimits: { account: 5, address: 30, accountCeiling: 100, windowMs: 15 * 60_000 },
      trustClientAddressHeader: true,
      keyDefaultMaxConcurrentSessions: 4,
      oidc: { providers: [], allowedDomains: [] },
      recordings: { maxBytes: 1024 ** 3, keyQuotaBytes: 20 * 1024 ** 3, chunkBytes: 1024 ** 2, abandonMs: 7 * 86_400_000 },
      exports: { inlineMaxRows: 200_000 },
    });
  });

  it('trusts CF-Connecting-IP on Cloudflare only, unless TRUST_CLIENT_ADDRESS_HEADER says otherwise', () => {
    const trust = (env: Record<string, string>) => edgeConfigFromEnv({ ...base, ...env }).trustClientAddressHeader;
    expect([trust({}), trust({ NETPOKE_MODE: 'local' }), trust({ NETPOKE_MODE: 'local', TRUST_CLIENT_ADDRESS_HEADER: 'true' }), trust({ TRUST_CLIENT_ADDRESS_HEADER: 'false' })]).toEqual([true, false, true, false]);
    expect(() => trust({ TRUST_CLIENT_ADDRESS_HEADER: 'yes' })).toThrow(/TRUST_CLIENT_ADDRESS_HEADER: must be true or false/);
  });

  it('streams exports of up to 200,000 rows unless EXPORT_INLINE_MAX_ROWS says otherwise', () => {
    const inline = (v?: string) => edgeConfigFromEnv({ ...base, ...(v === undefined ? {} : { EXPORT_INLINE_MAX_ROWS: v }) }).exports.inlineMaxRows;
    expect([inline(), inline('5'), inline('2000000')]).toEqual([200_000, 5, 2_000_000]);
    expect(() => inline('0')).toThrow(/EXPORT_INLINE_MAX_ROWS/);
    expect(() => inline('many')).toThrow(/EXPORT_INLINE_MAX_ROWS/);
  });

  it('gives new keys 4 concurrent sessions unless KEY_DEFAULT_MAX_CONCURRENT_SESSIONS says otherwise (0: no limit)', () => {
    const dflt = (v?: string) => edgeConfigFromEnv({ ...base, ...(v === undefined ? {} : { KEY_DEFAULT_MAX_CONCURRENT_SESSIONS: v }) }).keyDefaultMaxConcurrentSessions;
    expect([dflt(), dflt(''), dflt('12'), dflt('0')]).toEqual([4, 4, 12, null]);
    expect(() => dflt('-1')).toThrow(/KEY_DEFAULT_MAX_CONCURRENT_SESSIONS/);
  });

  it('reads OpenID providers with their secrets from OIDC_SECRET_<ID>, and names a missing secret', () => {
    const providers = JSON.stringify([{ id: 'corp-sso', issuer: 'https://sso.example.org/', client_id: 'netpoke' }, { id: 'gh', type: 'github', client_id: 'abc' }]);
    const c = edgeConfigFromEnv({ ...base, OIDC_PROVIDERS: providers, OIDC_SECRET_CORP_SSO: 's1', OIDC_SECRET_GH: 's2', OIDC_ALLOWED_DOMAINS: 'Example.org, @example.com' });
    expect(c.oidc.providers).toEqual([
      { id: 'corp-sso', name: 'corp-sso', type: 'oidc', issuer: 'https://sso.example.org', clientId: 'netpoke', clientSecret: 's1', scopes: 'openid email profile' },
      { id: 'gh', name: 'gh', type: 'github', issuer: 'https://github.com', clientId: 'abc', clientSecret: 's2', scopes: 'read:user user:email' },
    ]);
    expect(c.oidc.allowedDomains).toEqual(['example.org', 'example.com']);
    expect(() => edgeConfigFromEnv({ ...base, OIDC_PROVIDERS: providers, OIDC_SECRET_GH: 's2' })).toThrow(/OIDC_SECRET_CORP_SSO/);
    expect(() => edgeConfigFromEnv({ ...base, OIDC_PROVIDERS: '[{"id":"x","client_id":"c"}]', OIDC_SECRET_X: 's' })).toThrow(/issuer/);
  });

  it('takes JSON variables as text (secrets, --var) or as objects (wrangler [vars] tables), and numbers as text', () => {
    const c = edgeConfigFromEnv({ ...base, REGION_MAP: '{"EU":"eu","NA":["us-east","us-west"]}', ICE_SERVERS: [{ urls: 'stun:stun.example:3478' }], RELAY_FRESH_MS: '5000' });
    expect(c.regionMap).toEqual({ EU: ['eu'], NA: ['us-east', 'us-west'] });
    expect(c.iceServers).toEqual([{ urls: 'stun:stun.example:3478' }]);
    expect(c.relayFreshMs).toBe(5000);
    expect(edgeConfigFromEnv({ ...base, LIBSQL_URL: 'libsql://db-org.turso.io', LIBSQL_AUTH_TOKEN: 't' })).toMatchObject({ libsqlAuthToken: 't' });
  });

  it('reads RELAY_SHARED_SECRET_PREVIOUS as a second, verify-only secret, which must differ from the first', () => {
    expect(edgeConfigFromEnv({ ...base, RELAY_SHARED_SECRET_PREVIOUS: 'the-old-secret-0123456789' }).secrets).toEqual({ current: '0123456789abcdef', previous: 'the-old-secret-0123456789' });
    expect(edgeConfigFromEnv({ ...base, RELAY_SHARED_SECRET_PREVIOUS: '' }).secrets).toEqual({ current: '0123456789abcdef' });
    expect(() => edgeConfigFromEnv({ ...base, RELAY_SHARED_SECRET_PREVIOUS: '0123456789abcdef' })).toThrow(/RELAY_SHARED_SECRET_PREVIOUS/);
    expect(() => edgeConfigFromEnv({ ...base, RELAY_SHARED_SECRET_PREVIOUS: 'short' })).toThrow(/RELAY_SHARED_SECRET_PREVIOUS/);
  });

  it('honours the demo key only in local mode', () => {
    expect(edgeConfigFromEnv({ ...base, NETPOKE_DEMO_KEY: 'demo' }).demoKey).toBeNull();
    expect(edgeConfigFromEnv({ ...base, NETPOKE_MODE: 'local', NETPOKE_DEMO_KEY: 'try-me' }).demoKey).toBe('try-me');
    expect(edgeConfigFromEnv({ ...base, NETPOKE_MODE: 'local' }).demoKey).toBe('demo');
  });

  it('names every bad variable', () => {
    const bad = () => edgeConfigFromEnv({ LIBSQL_URL: 'file:///tmp/x.db', REGION_MAP: '{oops', ICE_SERVERS: '[{"url":"stun:x"}]', MAX_BODY_BYTES: 'lots' });
    expect(bad).toThrow(ConfigError);
    const message = (() => {
      try {
        bad();
      } catch (e) {
        return (e as Error).message;
      }
      return '';
    })();
    expect(message).toMatch(/LIBSQL_URL: must be a libsql: \/ http: \/ https: \/ ws: \/ wss: URL/);
    expect(message).toMatch(/RELAY_SHARED_SECRET: is required/);
    expect(message).toMatch(/REGION_MAP: is not valid JSON/);
    expect(message).toMatch(/ICE_SERVERS\.0\.urls/);
    expect(message).toMatch(/MAX_BODY_BYTES/);
  });
});

describe('relay choice', () => {
  const map = { LHR: ['eu-west'], EU: ['eu-central', 'eu-west'], '*': ['us'] };

  it('prefers the colo entry, then the continent, then "*"', () => {
    expect(preferredRegions(map, { colo: 'LHR', continent: 'EU' })).toEqual(['eu-west']);
    expect(preferredRegions(map, { colo: 'FRA', continent: 'EU' })).toEqual(['eu-central', 'eu-west']);
    expect(preferredRegions(map, { colo: 'NRT', continent: 'AS' })).toEqual(['us']);
    expect(preferredRegions({}, undefined)).toEqual([]);
  });

});

describe('request parts', () => {
  it('takes the magic key from the body first, else from Authorization: MagicKey', () => {
    expect(requestMagicKey('body-key', 'MagicKey header-key')).toBe('body-key');
    expect(requestMagicKey(undefined, 'MagicKey header-key')).toBe('header-key');
    expect(requestMagicKey(undefined, 'magickey  header-key ')).toBe('header-key');
    expect(requestMagicKey(undefined, 'Bearer header-key')).toBeNull();
    expect(requestMagicKey(undefined, undefined)).toBeNull();
  });

  it('counts clients by CF-Connecting-IP when it is trusted, IPv6 by /64, and everyone else in one local bucket', () => {
    const req = (ip?: string) => new Request('http://x/', { headers: ip ? { 'cf-connecting-ip': ip } : {} });
    const trusted = { trustClientAddressHeader: true };
    expect(clientAddress(req('203.0.113.9'), trusted)).toBe('203.0.113.9');
    expect(clientAddress(req('2001:db8:a:b:c:d:e:f'), trusted)).toBe('2001:db8:a:b::/64');
    expect(clientAddress(req(), trusted)).toBe('local');
    // A local edge: anyone can send the header, so it names nobody.
    expect(clientAddress(req('203.0.113.9'), { trustClientAddressHeader: false })).toBe('local');
    expect(ipv6Prefix64('2001:DB8::1')).toBe('2001:db8:0:0::/64');
    expect(ipv6Prefix64('2001:0db8:0000:0042::1')).toBe('2001:db8:0:42::/64');
    expect(ipv6Prefix64('::1')).toBe('0:0:0:0::/64');
    expect(ipv6Prefix64('not-an-ip')).toBe('not-an-ip');
  });
});
