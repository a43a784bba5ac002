import { describe, expect, it } from 'vitest';
import { CONTROL_TYPES, MAX_CONTROL_CHARS, parseControlMessage } from '../../shared/protocol/control.js';

const SID = '6f1c2b1e-3a4d-4c5e-8f90-123456789abc';
const CID = 'c0ffee00-1111-4222-8333-444455556666';
const stats = {
  delay_deviation_ms: [0.1, 0.5, 0, 0.9],
  rtt_ms: [0.3, 0.8, 0.2, 1.1],
  jitter_ms: [0.05, 0.2, 0, 0.3],
  loss_rate: 1,
  reorder_rate: 0,
  probe_count: 99,
  baseline_delay_ms: 12.5,
};

/** One valid sample of every control message type. */
const valid: Record<string, object> = {
  start_survey_session: { survey_session_id: SID, conn_id: CID },
  server_side_ready: { survey_session_id: SID, conn_id: CID },
  get_measuring_time: { survey_session_id: SID, conn_id: CID },
  measuring_time_response: { survey_session_id: SID, conn_id: CID, max_duration_ms: 600000 },
  start_probe_streams: { survey_session_id: SID, conn_id: CID },
  stop_probe_streams: { survey_session_id: SID, conn_id: CID },
  start_server_traffic: { survey_session_id: SID, conn_id: CID },
  stop_server_traffic: { survey_session_id: SID, conn_id: CID },
  start_throughput: { survey_session_id: SID, conn_id: CID, direction: 'both', duration_ms: 15000, sdp: 'v=0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n' },
  throughput_ready: { survey_session_id: SID, conn_id: CID, sdp: 'v=0\r\n', duration_ms: 15000 },
  stop_throughput: { survey_session_id: SID, conn_id: CID },
  probe_stats: { survey_session_id: SID, conn_id: CID, timestamp_ms: 1764000000123.25, c2s_stats: stats, s2c_stats: { ...stats, probes_expected: 100, late_count: 0, sender_paused_ms: 0, loaded: true, throughput_bps: 12e6 } },
  stop_survey_session: { survey_session_id: SID, conn_id: CID },
  survey_session_stopped: { survey_session_id: SID, conn_id: CID, pcap_available: true },
  sender_report: { survey_session_id: SID, conn_id: CID, timestamp_ms: 1764000000123.25, last_seq: 41, sent: 42, paused_ms: 950 },
  request_path_trace: { survey_session_id: SID, conn_id: CID },
  path_trace: {
    survey_session_id: SID,
    conn_id: CID,
    at_ms: 1764000000123.25,
    hops: [{ ttl: 1, address: '192.0.2.1', rtt_ms: [0.4, 0.9], loss_rate: 0 }, { ttl: 2, address: null, rtt_ms: null, loss_rate: 1 }],
    path_mtu: 1400,
    mtu_hop: 1,
    available: true,
  },
  error: { code: 'invalid_message', message: 'x' },
};

describe('parseControlMessage', () => {
  it('has a sample for every type in the union', () => {
    expect(Object.keys(valid).sort()).toEqual([...CONTROL_TYPES].sort());
  });

  for (const [type, fields] of Object.entries(valid)) {
    it(`accepts a valid ${type} and keeps its fields`, () => {
      const r = parseControlMessage(JSON.stringify({ type, ...fields }));
      expect(r.ok).toBe(true);
      if (r.ok) expect(r.message).toEqual({ type, ...fields });
    });

    const required = Object.keys(fields);
    for (const field of required) {
      it(`rejects ${type} without ${field}, naming the field`, () => {
        const copy: Record<string, unknown> = { type, ...fields };
        delete copy[field];
        const r = parseControlMessage(JSON.stringify(copy));
        expect(r.ok).toBe(false);
        if (!r.ok) {
          expect(r.error.code).toBe('invalid_message');
          expect(r.error.message).toContain(field);
        }
      });
    }
  }

  it('accepts optional throughput on probe_stats and ignores unknown extra fields', () => {
    const msg = { type: 'probe_stats', ...valid.probe_stats, throughput: { c2s_bytes_per_s: 10, s2c_bytes_per_s: 20 }, extra: 1 };
    const r = parseControlMessage(JSON.stringify(msg));
    expect(r.ok && r.message.type === 'probe_stats' && r.message.throughput).toEqual({ c2s_bytes_per_s: 10, s2c_bytes_per_s: 20 });
  });

  it('rejects wrong types, naming the field', () => {
    const r = parseControlMessage(JSON.stringify({ type: 'measuring_time_response', survey_session_id: SID, conn_id: CID, max_duration_ms: '10' }));
    expect(r).toMatchObject({ ok: false, error: { code: 'invalid_message' } });
    if (!r.ok) expect(r.error.message).toContain('max_duration_ms');
    const bad = parseControlMessage(JSON.stringify({ type: 'start_survey_session', survey_session_id: 'not-a-uuid', conn_id: CID }));
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.error.message).toContain('survey_session_id');
  });

  it('rejects a stats quad of the wrong length and a loss rate over 100', () => {
    const shortQuad = { ...stats, rtt_ms: [1, 2, 3] };
    const r1 = parseControlMessage(JSON.stringify({ type: 'probe_stats', ...valid.probe_stats, c2s_stats: shortQuad }));
    expect(r1.ok).toBe(false);
    if (!r1.ok) expect(r1.error.message).toContain('c2s_stats.rtt_ms');
    const r2 = parseControlMessage(JSON.stringify({ type: 'probe_stats', ...valid.probe_stats, s2c_stats: { ...stats, loss_rate: 101 } }));
    expect(r2.ok).toBe(false);
    if (!r2.ok) expect(r2.error.message).toContain('s2c_stats.loss_rate');
  });

  it('names an unknown type', () => {
    const r = parseControlMessage(JSON.stringify({ type: 'reboot_relay' }));
    expect(r).toEqual({ ok: false, error: { code: 'unknown_type', message: 'type: unknown message type "reboot_relay"' } });
  });

  it('rejects a missing or non-string type', () => {
    expect(parseControlMessage('{}')).toMatchObject({ ok: false, error: { code: 'invalid_message' } });
    expect(parseControlMessage('{"type":7}')).toMatchObject({ ok: false, error: { code: 'invalid_message' } });
  });

  it('rejects non-JSON, JSON that is not an object, and non-text', () => {
    expect(parseControlMessage('{"type":')).toMatchObject({ ok: false, error: { code: 'not_json' } });
    expect(parseControlMessage('[1,2]')).toMatchObject({ ok: false, error: { code: 'invalid_message' } });
    expect(parseControlMessage('null')).toMatchObject({ ok: false, error: { code: 'invalid_message' } });
    expect(parseControlMessage(new Uint8Array([1, 2]))).toMatchObject({ ok: false, error: { code: 'invalid_message' } });
  });

  it('rejects oversized text before parsing it', () => {
    const big = JSON.stringify({ type: 'error', code: 'x', message: 'a'.repeat(MAX_CONTROL_CHARS) });
    expect(parseControlMessage(big)).toMatchObject({ ok: false, error: { code: 'too_large' } });
  });

  it('never throws on random garbage', () => {
    let seed = 42;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let i = 0; i < 2000; i++) {
      const len = Math.floor(rnd() * 64);
      let s = '';
      for (let j = 0; j < len; j++) s += String.fromCharCode(Math.floor(rnd() * 128));
      const r = parseControlMessage(s);
      expect(typeof r.ok).toBe('boolean');
    }
  });
});
