// TURN REST API credentials (shared/turn-credentials.ts) and the edge's TURN settings.
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../shared/config.js';
import { mintTurnCredentials } from '../../shared/turn-credentials.js';
import { edgeConfigFromEnv } from '../../edge/config.js';
import { iceServersFor } from '../../edge/ice-servers.js';

const base = { LIBSQL_URL: 'http://127.0.0.1:8080', RELAY_SHARED_SECRET: '0123456789abcdef' };
const SECRET = 'turn-secret-0123456789';

function configError(env: Record<string, unknown>): string {
  try {
    edgeConfigFromEnv(env);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('mintTurnCredentials', () => {
  it('mints `<expiry>:<id>` and base64(HMAC-SHA1(secret, username)), as coturn use-auth-secret checks', async () => {
    const c = await mintTurnCredentials(SECRET, { ttlS: 600, nowMs: 1_764_000_000_999, id: 'abc' });
    expect(c).toEqual({
      username: '1764000600:abc',
      credential: createHmac('sha1', SECRET).update('1764000600:abc').digest('base64'),
      expiresAtS: 1_764_000_600,
    });
  });

  it('gives each call its own random id; a negative TTL mints expired credentials', async () => {
    const [a, b] = await Promise.all([mintTurnCredentials(SECRET, { ttlS: 60 }), mintTurnCredentials(SECRET, { ttlS: 60 })]);
    expect(a.username).toMatch(/^\d+:[A-Za-z0-9_-]{16}$/);
    expect(a.username).not.toBe(b.username);
    const old = await mintTurnCredentials(SECRET, { ttlS: -60 });
    expect(old.expiresAtS).toBeLessThan(Date.now() / 1000);
  });
});

describe('edge TURN settings', () => {
  it('are absent unless both TURN_SECRET and TURN_URLS are set; TURN_URLS may be a list or a JSON array', () => {
    expect(edgeConfigFromEnv(base).turn).toBeUndefined();
    expect(edgeConfigFromEnv({ ...base, TURN_SECRET: '', TURN_URLS: '' }).turn).toBeUndefined();
    expect(edgeConfigFromEnv({ ...base, TURN_SECRET: SECRET, TURN_URLS: 'turn:t.example:3478?transport=udp, turns:t.example:5349' }).turn).toEqual({
      secret: SECRET,
      urls: ['turn:t.example:3478?transport=udp', 'turns:t.example:5349'],
      ttlS: 600,
    });
    expect(edgeConfigFromEnv({ ...base, TURN_SECRET: SECRET, TURN_URLS: '["turn:t.example"]', TURN_TTL_S: '120' }).turn).toEqual({ secret: SECRET, urls: ['turn:t.example'], ttlS: 120 });
    expect(edgeConfigFromEnv({ ...base, TURN_SECRET: SECRET, TURN_URLS: ['turn:t.example'] }).turn?.urls).toEqual(['turn:t.example']);
  });

  it('names every bad TURN variable', () => {
    expect(configError({ ...base, TURN_SECRET: SECRET })).toMatch(/TURN_URLS: is required when TURN_SECRET is set/);
    expect(configError({ ...base, TURN_URLS: 'turn:t.example' })).toMatch(/TURN_SECRET: is required when TURN_URLS is set/);
    expect(configError({ ...base, TURN_SECRET: 'short', TURN_URLS: 'turn:t.example' })).toMatch(/TURN_SECRET: must be at least 16 characters/);
    expect(configError({ ...base, TURN_SECRET: SECRET, TURN_URLS: 'stun:t.example' })).toMatch(/TURN_URLS\.0: must be a turn: or turns: URL/);
    expect(configError({ ...base, TURN_SECRET: SECRET, TURN_URLS: 'turn:user:pw@t.example' })).toMatch(/TURN_URLS\.0/);
    expect(configError({ ...base, TURN_SECRET: SECRET, TURN_URLS: '[oops' })).toMatch(/TURN_URLS: is not valid JSON/);
    expect(configError({ ...base, TURN_SECRET: SECRET, TURN_URLS: 'turn:t.example', TURN_TTL_S: '5' })).toMatch(/TURN_TTL_S/);
  });
});

describe('iceServersFor', () => {
  it('is the static list alone without TURN, and the list plus one freshly minted TURN entry with it', async () => {
    const stun = { urls: 'stun:s.example:3478' };
    expect(await iceServersFor(edgeConfigFromEnv({ ...base, ICE_SERVERS: JSON.stringify([stun]) }))).toEqual([stun]);
    const config = edgeConfigFromEnv({ ...base, ICE_SERVERS: JSON.stringify([stun]), TURN_SECRET: SECRET, TURN_URLS: 'turn:t.example', TURN_TTL_S: '300' });
    const [first, turn] = await iceServersFor(config, 1_764_000_000_000);
    expect(first).toEqual(stun);
    expect(turn?.urls).toEqual(['turn:t.example']);
    expect(turn?.username).toMatch(/^1764000300:/);
    expect(turn?.credential).toBe(createHmac('sha1', SECRET).update(turn!.username!).digest('base64'));
  });
});
