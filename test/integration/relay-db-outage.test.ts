import { describe, expect, it } from 'vitest';
import { runProbe } from '../../cli/run-probe.js';
import { directSignal, eventually, metricRows } from '../helpers/system.js';
import { useDbAndRelay } from '../helpers/use-system.js';

const sys = useDbAndRelay();

describe('a database outage mid-survey', () => {
  it('neither stalls probing nor loses metrics: they are buffered and flushed when the database returns', async () => {
    let seconds = 0;
    let outage: Promise<void> | null = null;
    let back: Promise<void> | null = null;
    const duringOutage: number[] = [];
    let down = false;
    const result = await runProbe({
      url: '',
      key: 'x',
      durationMs: 9_000,
      signal: directSignal(sys.relay, { magicKey: 'key-outage' }),
      onEvent: (e) => {
        if (e.type !== 'stats') return;
        seconds++;
        if (down) duringOutage.push(e.s2c.probe_count, e.c2s?.probe_count ?? 0);
        if (seconds === 2) {
          down = true;
          outage = sys.db.stop();
        }
        if (seconds === 6) {
          down = false;
          back = outage!.then(() => sys.db.restart());
        }
      },
    });
    await back;
    // Probing went on at full rate while the database was down.
    expect(duringOutage.length).toBeGreaterThanOrEqual(6);
    for (const n of duringOutage.slice(2)) expect(n).toBeGreaterThan(80);

    const rows = await eventually(async () => {
      if (sys.relay.writer.buffered > 0) return null;
      return metricRows(sys.db.db, result.surveySessionId);
    }, 20_000);
    expect(sys.relay.writer.dropped).toBe(0);
    // The outage was real: writes failed and were retried.
    expect(sys.relay.writer.failedAttempts).toBeGreaterThan(0);
    const server = rows.filter((r) => r.source === 'server').map((r) => Number(r.timestamp_ms));
    const client = rows.filter((r) => r.source === 'client');
    // One server row per second measured, none missing across the outage.
    expect(server.length).toBeGreaterThanOrEqual(8);
    // (The last row is the partial window after Stop, up to Tmax + a second after the one before.)
    for (let i = 1; i < server.length - 1; i++) expect(server[i]! - server[i - 1]!).toBeLessThan(1_500);
    expect(client.length).toBeGreaterThanOrEqual(7);
    const session = await sys.db.db.execute({ sql: 'SELECT last_update_time FROM survey_sessions WHERE session_id = ?', args: [result.surveySessionId] });
    expect(Number(session.rows[0]!.last_update_time)).toBe(Math.max(...rows.map((r) => Number(r.timestamp_ms))));
  });
});
