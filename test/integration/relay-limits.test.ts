import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { runProbe } from '../../cli/run-probe.js';
import { insertSurveySession, setSurveyCaptureFiles } from '../../shared/db/surveys.js';
import type { ControlMessage } from '../../shared/protocol/control.js';
import { MAX_MESSAGE_BYTES, type DataChannelLabel } from '../../shared/protocol/limits.js';
import { directSignal, eventually } from '../helpers/system.js';
import { openRawClient } from '../helpers/raw-client.js';
import { useDbAndRelay } from '../helpers/use-system.js';

const sys = useDbAndRelay();

/** A raw client connection straight to the relay, whose control replies are collected as they arrive. */
const openPeer = (magicKey: string, connId?: string) => openRawClient(directSignal(sys.relay, { magicKey }), connId);

const count = (type: string) => (ms: ControlMessage[]) => ms.filter((m) => m.type === type).length;

async function captureRows(surveyId: string): Promise<Record<string, unknown>[]> {
  const rs = await sys.db.db.execute({ sql: 'SELECT * FROM survey_captures WHERE session_id = ? ORDER BY created_at', args: [surveyId] });
  return rs.rows.map((r) => ({ ...r }));
}

function tsharkFrames(path: string): number {
  return execFileSync('tshark', ['-r', path, '-T', 'fields', '-e', 'frame.number'], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }).trim().split('\n').filter(Boolean).length;
}

describe('relay message limits and captures', () => {
  it('captures nothing before start_survey_session', async () => {
    const before = sys.relay.captureCounters();
    const p = await openPeer('limits-key');
    const surveyId = crypto.randomUUID();
    // Messages on every channel, and relay replies, all before any survey.
    p.send({ type: 'get_measuring_time', survey_session_id: surveyId });
    for (let i = 0; i < 50; i++) {
      p.conn.channels.probe.send(JSON.stringify({ seq: i, sent_at_ms: Date.now(), direction: 'c2s', conn_id: p.conn.connId }));
      p.conn.channels.bulk.send(new Uint8Array(1000));
    }
    await p.until((m) => m.some((r) => r.type === 'error' && r.code === 'invalid_state'));
    expect(sys.relay.captureCounters()).toEqual(before);
    expect(before.live_captures).toBe(0);
    // From the start on, it does.
    p.send({ type: 'start_survey_session', survey_session_id: surveyId });
    await p.until((m) => count('server_side_ready')(m) === 1);
    await eventually(async () => sys.relay.captureCounters().records_captured > before.records_captured);
    expect(sys.relay.captureCounters().live_captures).toBe(1);
    p.conn.close();
    // A connection that goes without a stop leaves no capture behind.
    await eventually(async () => sys.relay.captureCounters().live_captures === 0 && sys.relay.captureCounters().bytes_held === 0);
    await eventually(async () => sys.relay.activePeers() === 0);
  });

  it('closes a connection that sends an oversized message on any channel with too_large; another session keeps measuring', async () => {
    const bystander = runProbe({ url: '', key: 'x', durationMs: 7_000, signal: directSignal(sys.relay, { magicKey: 'bystander' }) });
    const sizes: Record<DataChannelLabel, number> = { probe: 5 * 1024, control: 5 * 1024, bulk: 100 * 1024 };
    for (const label of ['probe', 'control', 'bulk'] as const) {
      const p = await openPeer('limits-key');
      const surveyId = crypto.randomUUID();
      p.send({ type: 'start_survey_session', survey_session_id: surveyId });
      await p.until((m) => count('server_side_ready')(m) === 1);
      const peersBefore = sys.relay.activePeers();
      const big = label === 'bulk' ? new Uint8Array(sizes.bulk) : JSON.stringify({ type: 'x', pad: 'a'.repeat(sizes[label]) });
      (p.conn.channels[label] as { send(d: string | Uint8Array): void }).send(big);
      await p.until((m) => m.some((r) => r.type === 'error' && r.code === 'too_large'));
      const err = p.replies.find((r) => r.type === 'error' && r.code === 'too_large');
      expect(err?.type === 'error' && err.message).toContain(`${label} channel`);
      expect(err?.type === 'error' && err.message).toContain(String(MAX_MESSAGE_BYTES[label]));
      await p.closed;
      await eventually(async () => sys.relay.activePeers() === peersBefore - 1);
      p.conn.close();
    }
    const result = await bystander;
    expect(result.stoppedBy).toBe('duration');
    expect(result.pcapAvailable).toBe(true);
    // Every whole second of the bystander's survey kept its probes, while the others were refused.
    const whole = result.seconds.slice(1, -1);
    expect(whole.length).toBeGreaterThanOrEqual(5);
    for (const s of whole) {
      expect(s.s2c.probe_count).toBeGreaterThan(80);
      expect(s.s2c.loss_rate).toBeLessThan(5);
    }
  });

  it('stops once: ten stops of a full capture get ten answers, one file and one row, and the event loop keeps its schedule', async () => {
    const p = await openPeer('limits-key');
    const surveyId = crypto.randomUUID();
    const ids = { survey_session_id: surveyId };
    p.send({ type: 'start_survey_session', ...ids });
    await p.until((m) => count('server_side_ready')(m) === 1);
    p.send({ type: 'start_probe_streams', ...ids });
    // Probe-channel messages of almost the limit fill the 16 MiB capture quickly (the relay stores up to 4 KiB of each).
    const filler = 'f'.repeat(MAX_MESSAGE_BYTES.probe - 16);
    const perConn = 16 * 1024 * 1024;
    await eventually(
      async () => {
        for (let i = 0; i < 500 && p.conn.channels.probe.bufferedAmount < 1024 * 1024; i++) p.conn.channels.probe.send(filler);
        const c = sys.relay.captureCounters();
        return c.records_dropped_conn_cap > 0;
      },
      30_000,
      20,
    );
    expect(sys.relay.captureCounters().bytes_held).toBeLessThanOrEqual(perConn + 256 * 1024);

    const h = monitorEventLoopDelay({ resolution: 1 });
    h.enable();
    for (let i = 0; i < 10; i++) p.send({ type: 'stop_survey_session', ...ids });
    await p.until((m) => count('survey_session_stopped')(m) === 10);
    h.disable();
    const p99 = h.percentile(99) / 1e6;
    console.log(`10 stops of a full capture: loop delay p99 ${p99.toFixed(2)} ms, max ${(h.max / 1e6).toFixed(2)} ms`);
    expect(p99).toBeLessThan(20);

    const stopped = p.replies.filter((m) => m.type === 'survey_session_stopped');
    expect(stopped.map((m) => m.type === 'survey_session_stopped' && m.pcap_available)).toEqual(Array(10).fill(true));
    const rows = await eventually(async () => {
      const r = await captureRows(surveyId);
      return r.length > 0 ? r : null;
    });
    expect(rows).toHaveLength(1);
    const row = rows[0]!;
    expect(row.conn_id).toBe(p.conn.connId);
    expect(Number(row.dropped)).toBeGreaterThan(0);
    expect(readdirSync(join(sys.db.dir, 'captures', surveyId))).toEqual([String(row.path).split('/').at(-1)]);
    expect(tsharkFrames(String(row.path))).toBe(Number(row.records));
    // The memory went back once the file was written.
    await eventually(async () => sys.relay.captureCounters().bytes_held === 0);
    p.conn.close();
    // The connection's second stop did nothing either after a while: still one row.
    await eventually(async () => sys.relay.activePeers() === 0);
    expect(await captureRows(surveyId)).toHaveLength(1);
  });

  it('keeps every connection’s capture of a multi-path survey, each readable', async () => {
    const result = await runProbe({ url: '', key: 'x', durationMs: 2_500, connections: 2, signal: directSignal(sys.relay, { magicKey: 'multi' }) });
    expect(result.pcapAvailable).toBe(true);
    const rows = await eventually(async () => {
      const r = await captureRows(result.surveySessionId);
      return r.length === 2 ? r : null;
    });
    expect(rows.map((r) => r.conn_id).sort()).toEqual([...result.connIds].sort());
    expect(new Set(rows.map((r) => r.path)).size).toBe(2);
    for (const r of rows) {
      expect(existsSync(String(r.path))).toBe(true);
      expect(tsharkFrames(String(r.path))).toBe(Number(r.records));
      expect(Number(r.records)).toBeGreaterThan(400);
      expect(String(r.path)).toContain(`${String(r.conn_id)}-${String(r.peer_id)}.pcapng`);
    }
    const session = await sys.db.db.execute({ sql: 'SELECT pcap_path FROM survey_sessions WHERE session_id = ?', args: [result.surveySessionId] });
    expect(rows.map((r) => r.path)).toContain(session.rows[0]!.pcap_path);
  });

  it('a conn_id used again later gets its own file: the first capture is not overwritten', async () => {
    const surveyId = crypto.randomUUID();
    const connId = `reused-${crypto.randomUUID().slice(0, 8)}`;
    for (let round = 0; round < 2; round++) {
      const p = await openPeer('limits-key', connId);
      p.send({ type: 'start_survey_session', survey_session_id: surveyId });
      await p.until((m) => count('server_side_ready')(m) === 1);
      p.send({ type: 'stop_survey_session', survey_session_id: surveyId });
      await p.until((m) => count('survey_session_stopped')(m) === 1);
      p.conn.close();
      await eventually(async () => sys.relay.activePeers() === 0);
    }
    const rows = await eventually(async () => {
      const r = await captureRows(surveyId);
      return r.length === 2 ? r : null;
    });
    expect(rows.map((r) => r.conn_id)).toEqual([connId, connId]);
    expect(rows[0]!.peer_id).not.toBe(rows[1]!.peer_id);
    for (const r of rows) expect(tsharkFrames(String(r.path))).toBe(Number(r.records));
    // The session row keeps the first capture's path.
    const session = await sys.db.db.execute({ sql: 'SELECT pcap_path FROM survey_sessions WHERE session_id = ?', args: [surveyId] });
    expect(session.rows[0]!.pcap_path).toBe(rows[0]!.path);
  });

  it('survey_sessions.pcap_path is set once: a later capture does not overwrite it', async () => {
    const id = crypto.randomUUID();
    await sys.db.db.execute(insertSurveySession({ session_id: id, magic_key: 'k', user_login: null, now: Date.now() }));
    await sys.db.db.execute(setSurveyCaptureFiles(id, '/first.pcapng', null));
    await sys.db.db.execute(setSurveyCaptureFiles(id, '/second.pcapng', null));
    const rs = await sys.db.db.execute({ sql: 'SELECT pcap_path FROM survey_sessions WHERE session_id = ?', args: [id] });
    expect(rs.rows[0]!.pcap_path).toBe('/first.pcapng');
  });
});
