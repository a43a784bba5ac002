import { describe, expect, it } from 'vitest';
import { RelayTokenClaimsSchema } from '../../shared/protocol/relay-api.js';
import { sha256Hex, signToken, verifyToken } from '../../shared/signing.js';
import { fromBase64Url, randomToken, toBase64Url } from '../../shared/ids.js';

const secret = 'test-secret-0123456789';
const claims = { typ: 'relay', aud: 'r1', op: 'create', peer_id: 'p1', magic_key: 'k', exp: 2_000_000_000_000 } as const;

describe('signed tokens', () => {
  it('round-trips claims', async () => {
    const t = await signToken(claims, secret);
    expect(await verifyToken(t, secret, RelayTokenClaimsSchema, 1_000)).toEqual({ ok: true, claims });
  });

  it('refuses another secret, an altered body, a truncated signature, and an expired token', async () => {
    const t = await signToken(claims, secret);
    expect(await verifyToken(t, 'other-secret-0123456789', RelayTokenClaimsSchema, 1_000)).toEqual({ ok: false, reason: 'bad_signature' });
    const [body, sig] = t.split('.') as [string, string];
    const forged = toBase64Url(new TextEncoder().encode(JSON.stringify({ ...claims, aud: 'r2' })));
    expect(await verifyToken(`${forged}.${sig}`, secret, RelayTokenClaimsSchema, 1_000)).toEqual({ ok: false, reason: 'bad_signature' });
    expect(await verifyToken(`${body}.${sig.slice(0, -4)}`, secret, RelayTokenClaimsSchema, 1_000)).toEqual({ ok: false, reason: 'bad_signature' });
    expect(await verifyToken(t, secret, RelayTokenClaimsSchema, claims.exp)).toEqual({ ok: false, reason: 'expired' });
  });

  it('refuses malformed tokens and claims of the wrong shape', async () => {
    expect(await verifyToken('abc', secret, RelayTokenClaimsSchema)).toEqual({ ok: false, reason: 'malformed' });
    expect(await verifyToken('a.b.c', secret, RelayTokenClaimsSchema)).toEqual({ ok: false, reason: 'malformed' });
    expect(await verifyToken('a!.b', secret, RelayTokenClaimsSchema)).toEqual({ ok: false, reason: 'malformed' });
    const handle = await signToken({ typ: 'handle', relay_id: 'r', relay_url: 'u', peer_id: 'p', exp: claims.exp }, secret);
    expect(await verifyToken(handle, secret, RelayTokenClaimsSchema, 1_000)).toEqual({ ok: false, reason: 'malformed' });
  });
});

describe('ids', () => {
  it('makes unguessable distinct tokens and base64url round-trips', () => {
    const a = randomToken(32);
    expect(a).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(randomToken(32)).not.toBe(a);
    const bytes = new Uint8Array([0, 255, 62, 63, 128, 7]);
    expect(Array.from(fromBase64Url(toBase64Url(bytes))!)).toEqual(Array.from(bytes));
  });

  it('hashes with SHA-256', async () => {
    expect(await sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
});
