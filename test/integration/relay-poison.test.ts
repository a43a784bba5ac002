// Numbers that cannot poison anything: absurd timestamps and stats from one client are refused at the
// border, and every other session's rows keep landing.
import { describe, expect, it } from 'vitest';
import { runProbe } from '../../cli/run-probe.js';
import { uuid } from '../../shared/ids.js';
import { directSignal, eventually, metricRows } from '../helpers/system.js';
import { openRawClient } from '../helpers/raw-client.js';
import { useDbAndRelay } from '../helpers/use-system.js';

const sys = useDbAndRelay();

describe('poison numbers', () => {
  it('refuses absurd probe timestamps and stats; the stored rows stay finite and another session loses nothing', async () => {
    const honest = runProbe({ url: '', key: 'x', durationMs: 4_000, signal: directSignal(sys.relay, { magicKey: 'key-honest' }) });
    const raw = await openRawClient(directSignal(sys.relay, { magicKey: 'key-poison' }));
    const { conn } = raw;
    const surveyId = uuid();
    const ids = { survey_session_id: surveyId, conn_id: conn.connId };
    conn.channels.control.send(JSON.stringify({ type: 'start_survey_session', ...ids }));
    await raw.until((r) => r.some((m) => m.type === 'server_side_ready'));
    conn.channels.control.send(JSON.stringify({ type: 'start_probe_streams', ...ids }));
    // Probes from the far future and the far past, with absurd echoes, between ordinary ones.
    const now = Date.now();
    for (let seq = 0; seq < 200; seq++) {
      const poison = seq % 2 === 1;
      conn.channels.probe.send(
        JSON.stringify({
          seq,
          sent_at_ms: poison ? [1.7e308, -1.7e308, 1e300][seq % 3] : now + seq * 10,
          direction: 'c2s',
          conn_id: conn.connId,
          ...(poison ? { echo: { seq: 0, sent_at_ms: 1.7e308, held_ms: 1e308 } } : {}),
        }),
      );
    }
    const big = { delay_deviation_ms: [1.7e308, 0, 0, 0], rtt_ms: [0, 0, 0, 0], jitter_ms: [0, 0, 0, 0], loss_rate: 0, reorder_rate: 0, probe_count: 1e15, baseline_delay_ms: -1.7e308 };
    conn.channels.control.send(JSON.stringify({ type: 'probe_stats', ...ids, timestamp_ms: now, c2s_stats: big, s2c_stats: big }));
    await raw.until((r) => r.some((m) => m.type === 'error' && m.code === 'invalid_message'));
    // The poisoned connection still gets its seconds written, all finite.
    await eventually(async () => (await metricRows(sys.db.db, surveyId)).filter((r) => r.source === 'server').length >= 2);
    conn.close();
    const result = await honest;
    await eventually(async () => sys.relay.writer.buffered === 0);
    const poisoned = await metricRows(sys.db.db, surveyId);
    for (const r of poisoned) {
      for (const [k, v] of Object.entries(r)) if (typeof v === 'number') expect(Number.isFinite(v), k).toBe(true);
      expect(Math.abs(Number(r.delay_max_ms))).toBeLessThan(86_400_000);
    }
    expect(poisoned.filter((r) => r.source === 'client')).toHaveLength(0);
    // The honest survey: every second stored, no loss.
    const rows = await metricRows(sys.db.db, result.surveySessionId);
    expect(rows.filter((r) => r.source === 'server').length).toBeGreaterThanOrEqual(4);
    for (const r of rows) expect(Number(r.loss_rate)).toBe(0);
    expect(sys.relay.writer.counters().dropped).toEqual(expect.objectContaining({ refused: 0 }));
  });
});
