import { describe, expect, it } from 'vitest';
import { CaptureTokenClaimsSchema, RelayTokenClaimsSchema } from '../../shared/protocol/relay-api.js';
import { KEY_PURPOSES } from '../../shared/secret-keys.js';
import { sha256Hex, signToken, verifyToken } from '../../shared/signing.js';
import { fromBase64Url, randomToken, toBase64Url } from '../../shared/ids.js';
import { signWithRawSecret } from '../helpers/raw-sign.js';

const secret = 'test-secret-0123456789';
const secrets = { current: secret };
const claims = { typ: 'relay', aud: 'r1', op: 'create', jti: 'jti-0123456789abcdef', peer_id: 'p1', key_id: '0123456789abcdef', exp: 2_000_000_000_000 } as const;

describe('signed tokens', () => {
  it('round-trips claims', async () => {
    const t = await signToken(claims, secrets, 'relay');
    expect(await verifyToken(t, secrets, 'relay', RelayTokenClaimsSchema, 1_000)).toEqual({ ok: true, claims });
  });

  it('refuses another secret, an altered body, a truncated signature, and an expired token', async () => {
    const t = await signToken(claims, secrets, 'relay');
    expect(await verifyToken(t, { current: 'other-secret-0123456789' }, 'relay', RelayTokenClaimsSchema, 1_000)).toEqual({ ok: false, reason: 'bad_signature' });
    const [body, sig] = t.split('.') as [string, string];
    const forged = toBase64Url(new TextEncoder().encode(JSON.stringify({ ...claims, aud: 'r2' })));
    expect(await verifyToken(`${forged}.${sig}`, secrets, 'relay', RelayTokenClaimsSchema, 1_000)).toEqual({ ok: false, reason: 'bad_signature' });
    expect(await verifyToken(`${body}.${sig.slice(0, -4)}`, secrets, 'relay', RelayTokenClaimsSchema, 1_000)).toEqual({ ok: false, reason: 'bad_signature' });
    expect(await verifyToken(t, secrets, 'relay', RelayTokenClaimsSchema, claims.exp)).toEqual({ ok: false, reason: 'expired' });
  });

  it('refuses malformed tokens and claims of the wrong shape', async () => {
    expect(await verifyToken('abc', secrets, 'relay', RelayTokenClaimsSchema)).toEqual({ ok: false, reason: 'malformed' });
    expect(await verifyToken('a.b.c', secrets, 'relay', RelayTokenClaimsSchema)).toEqual({ ok: false, reason: 'malformed' });
    expect(await verifyToken('a!.b', secrets, 'relay', RelayTokenClaimsSchema)).toEqual({ ok: false, reason: 'malformed' });
    const handle = await signToken({ typ: 'handle', relay_id: 'r', relay_url: 'u', peer_id: 'p', exp: claims.exp }, secrets, 'relay');
    expect(await verifyToken(handle, secrets, 'relay', RelayTokenClaimsSchema, 1_000)).toEqual({ ok: false, reason: 'malformed' });
  });
});

describe('per-purpose keys', () => {
  it('gives every purpose its own label and key: a token signed for one purpose verifies for no other', async () => {
    expect(new Set(Object.values(KEY_PURPOSES)).size).toBe(4);
    const capture = { typ: 'capture', relay_id: 'r', session_id: 's', conn_id: 'c', peer_id: 'p', sha256: 'a'.repeat(64), bytes: 1, exp: claims.exp } as const;
    const t = await signToken(capture, secrets, 'capture');
    expect((await verifyToken(t, secrets, 'capture', CaptureTokenClaimsSchema, 1_000)).ok).toBe(true);
    for (const other of ['relay', 'handle', 'local'] as const) {
      expect(await verifyToken(t, secrets, other, CaptureTokenClaimsSchema, 1_000)).toEqual({ ok: false, reason: 'bad_signature' });
    }
    // The derived signatures differ per purpose for the same body.
    const sigs = await Promise.all((['relay', 'capture', 'handle', 'local'] as const).map(async (p) => (await signToken(capture, secrets, p)).split('.')[1]));
    expect(new Set(sigs).size).toBe(4);
  });

  it('never signs with the configured secret itself: a token keyed with the raw secret is refused for every purpose', async () => {
    const raw = await signWithRawSecret(claims, secret);
    expect(raw).not.toBe(await signToken(claims, secrets, 'relay'));
    for (const p of ['relay', 'capture', 'handle', 'local'] as const) {
      expect(await verifyToken(raw, secrets, p, RelayTokenClaimsSchema, 1_000)).toEqual({ ok: false, reason: 'bad_signature' });
    }
  });

  it('rotation: the second secret verifies but never signs; without it, its tokens are refused', async () => {
    const old = 'the-old-secret-0123456789';
    const rotating = { current: secret, previous: old };
    const fromOld = await signToken(claims, { current: old }, 'relay');
    expect(await verifyToken(fromOld, rotating, 'relay', RelayTokenClaimsSchema, 1_000)).toEqual({ ok: true, claims });
    expect(await verifyToken(fromOld, secrets, 'relay', RelayTokenClaimsSchema, 1_000)).toEqual({ ok: false, reason: 'bad_signature' });
    // What a rotating signer issues is the current secret's token, which the old secret alone does not verify.
    const issued = await signToken(claims, rotating, 'relay');
    expect(issued).toBe(await signToken(claims, secrets, 'relay'));
    expect(await verifyToken(issued, { current: old }, 'relay', RelayTokenClaimsSchema, 1_000)).toEqual({ ok: false, reason: 'bad_signature' });
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
