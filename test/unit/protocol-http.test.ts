import { describe, expect, it } from 'vitest';
import {
  SignalingIceRequestSchema,
  SignalingStartRequestSchema,
  SignalingStartResponseSchema,
  describeZodError,
  errorBody,
  errorResponse,
  parseProbe,
} from '../../shared/protocol/index.js';

describe('signaling schemas', () => {
  const offer = { sdp: 'v=0\r\n', type: 'offer', magic_key: 'k' };

  it('accepts a minimal and a full start request', () => {
    expect(SignalingStartRequestSchema.parse(offer)).toEqual(offer);
    const full = { ...offer, conn_id: '6f1c2b1e-3a4d-4c5e-8f90-123456789abc', parent_id: 'p1', ip_version: 'ipv6' };
    expect(SignalingStartRequestSchema.parse(full)).toEqual(full);
  });

  it('names the bad field', () => {
    const cases: [object, string][] = [
      [{ type: 'offer' }, 'sdp'],
      [{ ...offer, type: 'answer' }, 'type'],
      [{ ...offer, conn_id: 'nope' }, 'conn_id'],
      [{ ...offer, ip_version: 'ipv5' }, 'ip_version'],
      [{ ...offer, sdp: 'x'.repeat(40_000) }, 'sdp'],
    ];
    for (const [body, field] of cases) {
      const r = SignalingStartRequestSchema.safeParse(body);
      expect(r.success).toBe(false);
      if (!r.success) expect(describeZodError(r.error).startsWith(`${field}:`)).toBe(true);
    }
  });

  it('validates ice requests and start responses', () => {
    expect(SignalingIceRequestSchema.safeParse({ session_id: 's', candidate: 'candidate:1 1 udp 1 127.0.0.1 5000 typ host' }).success).toBe(true);
    expect(SignalingIceRequestSchema.safeParse({ candidate: 'c' }).success).toBe(false);
    const resp = { session_id: 's', relay_id: 'r', sdp: 'v=0', type: 'answer', ice_servers: [{ urls: 'stun:x' }] };
    expect(SignalingStartResponseSchema.parse(resp)).toEqual(resp);
  });
});

describe('error shape', () => {
  it('builds the PROTOCOL body and status', async () => {
    expect(errorBody('not_found', 'no')).toEqual({ error: { code: 'not_found', message: 'no' } });
    const r = errorResponse('key_expired', 'This key has expired');
    expect(r.status).toBe(403);
    expect(r.headers.get('content-type')).toContain('application/json');
    expect(await r.json()).toEqual({ error: { code: 'key_expired', message: 'This key has expired' } });
    expect(errorResponse('no_relay', 'x').status).toBe(503);
    expect(errorResponse('too_large', 'x').status).toBe(413);
  });
});

describe('parseProbe', () => {
  const probe = {
    seq: 42,
    sent_at_ms: 1764000000123.5,
    direction: 'c2s',
    conn_id: 'c1',
    feedback: { highest_seq: 40, highest_seq_received_at_ms: 1764000000100, recent_count: 99, recent_reorders: 0 },
    echo: { seq: 40, sent_at_ms: 1764000000090, held_ms: 3 },
  };

  it('accepts the PROTOCOL example, with and without optional parts', () => {
    expect(parseProbe(JSON.stringify(probe))).toEqual(probe);
    const { feedback: _f, echo: _e, ...bare } = probe;
    expect(parseProbe(JSON.stringify(bare))).toEqual(bare);
  });

  it('drops malformed probes', () => {
    expect(parseProbe('not json')).toBeNull();
    expect(parseProbe(JSON.stringify({ ...probe, seq: -1 }))).toBeNull();
    expect(parseProbe(JSON.stringify({ ...probe, seq: 1.5 }))).toBeNull();
    expect(parseProbe(JSON.stringify({ ...probe, direction: 'up' }))).toBeNull();
    expect(parseProbe(JSON.stringify({ ...probe, echo: { seq: 1, sent_at_ms: 1, held_ms: -1 } }))).toBeNull();
    expect(parseProbe(JSON.stringify({ ...probe, conn_id: 'x'.repeat(3000) }))).toBeNull();
    expect(parseProbe(new Uint8Array(4))).toBeNull();
  });
});
