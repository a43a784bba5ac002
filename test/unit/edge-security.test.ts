// The edge's Origin rule and the ALLOWED_ORIGINS variable, as pure functions.
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../shared/config.js';
import { edgeConfigFromEnv } from '../../edge/config.js';
import { isJsonContentType } from '../../edge/body.js';
import { isForeignRequest } from '../../edge/security.js';

const base = { LIBSQL_URL: 'http://127.0.0.1:8080', RELAY_SHARED_SECRET: '0123456789abcdef' };
const req = (headers: Record<string, string>) => new Request('https://netpoke.example/api/signaling/start', { method: 'POST', headers });

describe('ALLOWED_ORIGINS', () => {
  it('is absent by default and a comma-separated list of origins when set', () => {
    expect(edgeConfigFromEnv(base).allowedOrigins).toBeUndefined();
    expect(edgeConfigFromEnv({ ...base, ALLOWED_ORIGINS: ' https://a.example , http://127.0.0.1:8787/,HTTPS://B.example ' }).allowedOrigins).toEqual([
      'https://a.example',
      'http://127.0.0.1:8787',
      'https://b.example',
    ]);
  });

  it('refuses anything that is not a bare http(s) origin, naming the variable and the entry', () => {
    for (const bad of ['a.example', 'https://a.example/path', 'ftp://a.example', 'https://a.example?x=1', '*']) {
      expect(() => edgeConfigFromEnv({ ...base, ALLOWED_ORIGINS: bad })).toThrow(ConfigError);
      expect(() => edgeConfigFromEnv({ ...base, ALLOWED_ORIGINS: bad })).toThrow(/ALLOWED_ORIGINS: .*is not an origin/);
    }
  });
});

describe('isForeignRequest', () => {
  it('compares Origin with the request’s own origin and the allowed list', () => {
    expect(isForeignRequest(req({ origin: 'https://netpoke.example' }), [])).toBe(false);
    expect(isForeignRequest(req({ origin: 'https://evil.example' }), [])).toBe(true);
    expect(isForeignRequest(req({ origin: 'http://netpoke.example' }), [])).toBe(true);
    expect(isForeignRequest(req({ origin: 'null' }), [])).toBe(true);
    expect(isForeignRequest(req({ origin: 'https://a.example', 'sec-fetch-site': 'cross-site' }), ['https://a.example'])).toBe(false);
  });

  it('without Origin, only Sec-Fetch-Site: cross-site is foreign', () => {
    expect(isForeignRequest(req({}), [])).toBe(false);
    expect(isForeignRequest(req({ 'sec-fetch-site': 'cross-site' }), ['https://a.example'])).toBe(true);
    expect(isForeignRequest(req({ 'sec-fetch-site': 'same-origin' }), [])).toBe(false);
    expect(isForeignRequest(req({ 'sec-fetch-site': 'none' }), [])).toBe(false);
  });
});

describe('isJsonContentType', () => {
  it.each([
    ['application/json', true],
    ['application/json; charset=utf-8', true],
    ['APPLICATION/JSON;charset=UTF-8', true],
    [' application/json ', true],
    ['application/jsonp', false],
    ['application/json-seq', false],
    ['text/plain', false],
    ['text/plain; application/json', false],
    ['', false],
  ])('%j → %s', (type, json) => {
    expect(isJsonContentType(type)).toBe(json);
  });
  it('no header is not JSON', () => expect(isJsonContentType(null)).toBe(false));
});
