import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runProbe } from '../../cli/run-probe.js';
import { directSignal, eventually, metricRows } from '../helpers/system.js';
import { useDbAndRelay } from '../helpers/use-system.js';

const sys = useDbAndRelay();

describe('headless client ↔ relay ↔ libSQL', () => {
  it('records a 5 s survey from both sides and saves a capture on explicit stop', async () => {
    const before = Date.now();
    const result = await runProbe({ url: '', key: 'ignored-by-relay', durationMs: 5_500, signal: directSignal(sys.relay, { magicKey: 'key-A', userLogin: 'alice' }) });
    expect(result.stoppedBy).toBe('duration');
    expect(result.pcapAvailable).toBe(true);
    // The client saw live stats both ways.
    // Whole seconds: the first may start mid-way, the last (after Stop) is partial.
    const late = result.seconds.slice(1, -1);
    expect(late.length).toBeGreaterThanOrEqual(4);
    for (const s of late) {
      expect(s.s2c.probe_count).toBeGreaterThan(80);
      expect(s.s2c.rtt_ms[0]).toBeGreaterThan(0);
    }
    // Every relay window reached the client exactly once, the last one (after Stop) included.
    const relayWindows = [...result.seconds.flatMap((e) => (e.c2s ? [e.c2s] : [])), ...result.relayOnly];
    expect(relayWindows.at(-2)!.probe_count).toBeGreaterThan(80);
    expect(result.seconds.at(-1)!.final).toBe(true);

    const session = await eventually(async () => {
      const rs = await sys.db.db.execute({ sql: 'SELECT * FROM survey_sessions WHERE session_id = ?', args: [result.surveySessionId] });
      const row = rs.rows[0];
      return row && row.pcap_path ? row : null;
    });
    expect(session.magic_key).toBe('key-A');
    expect(session.user_login).toBe('alice');
    expect(session.keylog_path).toBeNull();
    expect(Number(session.last_update_time)).toBeGreaterThan(Number(session.start_time));
    expect(Number(session.start_time)).toBeGreaterThanOrEqual(before - 1);

    const rows = await metricRows(sys.db.db, result.surveySessionId);
    const server = rows.filter((r) => r.source === 'server' && r.direction === 'c2s');
    const client = rows.filter((r) => r.source === 'client' && r.direction === 's2c');
    expect(server.length).toBeGreaterThanOrEqual(4);
    expect(client.length).toBeGreaterThanOrEqual(4);
    // Both sides' last windows (after Stop) are stored too, and every probe sent settled exactly once:
    // on loopback none is lost, so what the rows expected is what they received.
    const sum = (rs: Record<string, unknown>[], col: string) => rs.reduce((n, r) => n + Number(r[col]), 0);
    for (const rs of [server, client]) {
      expect(sum(rs, 'probes_expected')).toBe(sum(rs, 'probe_count'));
      expect(sum(rs, 'probe_count')).toBeGreaterThan(450);
    }
    expect(relayWindows.reduce((n, w) => n + w.probe_count, 0)).toBe(sum(server, 'probe_count'));
    // Every server row but the last covers a whole second of the stream, the first one too.
    for (const r of [...server.slice(0, -1), ...client.slice(1, -1)]) {
      expect(r.conn_id).toBe(result.connIds[0]);
      expect(Number(r.probe_count)).toBeGreaterThanOrEqual(80);
      expect(Number(r.probe_count)).toBeLessThanOrEqual(110);
      expect(Number(r.loss_rate)).toBeLessThan(5);
    }
    expect(server.filter((r) => Number(r.rtt_p50_ms) > 0).length).toBeGreaterThanOrEqual(4);
    expect(client.filter((r) => Number(r.rtt_p50_ms) > 0).length).toBeGreaterThanOrEqual(4);

    const pcap = String(session.pcap_path);
    expect(existsSync(pcap)).toBe(true);
    const count = execFileSync('tshark', ['-r', pcap, '-T', 'fields', '-e', 'frame.number'], { encoding: 'utf8' }).trim().split('\n').length;
    // ≥ 5 s of probes both ways plus control messages.
    expect(count).toBeGreaterThan(900);
    await eventually(async () => sys.relay.activePeers() === 0);
  });

  it('keeps the metrics of a survey that ends without stop, with no capture', async () => {
    const result = await runProbe({ url: '', key: 'x', durationMs: 2_500, abrupt: true, signal: directSignal(sys.relay, { magicKey: 'key-B' }) });
    await eventually(async () => sys.relay.activePeers() === 0);
    const rs = await sys.db.db.execute({ sql: 'SELECT * FROM survey_sessions WHERE session_id = ?', args: [result.surveySessionId] });
    expect(rs.rows[0]!.magic_key).toBe('key-B');
    expect(rs.rows[0]!.pcap_path).toBeNull();
    const rows = await eventually(async () => {
      const r = await metricRows(sys.db.db, result.surveySessionId);
      return r.length >= 2 ? r : null;
    });
    expect(rows.some((r) => r.source === 'server')).toBe(true);
  });

  it('runs a multi-path survey: two connections, one session row, rows per conn_id', async () => {
    const result = await runProbe({ url: '', key: 'x', durationMs: 3_000, connections: 2, signal: directSignal(sys.relay, { magicKey: 'key-C' }) });
    expect(result.connIds).toHaveLength(2);
    const sessions = await sys.db.db.execute({ sql: 'SELECT COUNT(*) AS n FROM survey_sessions WHERE session_id = ?', args: [result.surveySessionId] });
    expect(Number(sessions.rows[0]!.n)).toBe(1);
    const rows = await metricRows(sys.db.db, result.surveySessionId);
    for (const connId of result.connIds) {
      expect(rows.filter((r) => r.conn_id === connId && r.source === 'server').length).toBeGreaterThanOrEqual(2);
      expect(rows.filter((r) => r.conn_id === connId && r.source === 'client').length).toBeGreaterThanOrEqual(2);
    }
  });

  it('stops probe streams at the key’s measuring-time limit', async () => {
    const result = await runProbe({ url: '', key: 'x', durationMs: 10_000, signal: directSignal(sys.relay, { magicKey: 'key-E', maxMeasuringMs: 2_000 }) });
    expect(result.stoppedBy).toBe('time_limit');
    expect(result.seconds.length).toBeLessThanOrEqual(3);
  });
});
