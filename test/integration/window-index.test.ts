// Seconds that line up, end to end (PROTOCOL §2 v3): a real relay and the headless client over two connections; the
// stored rows of each connection and direction are windows 0..n−1 with no gap or double, the client's seconds pair
// the relay's window of the same index, lost_count is stored, and the console's series places rows by index.
import { describe, expect, it } from 'vitest';
import { runProbe } from '../../cli/run-probe.js';
import { seriesStatement } from '../../shared/db/survey-series.js';
import { directSignal, eventually, metricRows } from '../helpers/system.js';
import { useDbAndRelay } from '../helpers/use-system.js';

const sys = useDbAndRelay();

describe('window_index from the relay and the client to the rows', () => {
  it('stores windows 0..n−1 per connection and direction, paired by index with what the client showed', async () => {
    const result = await runProbe({ url: '', key: 'x', durationMs: 5_500, connections: 2, signal: directSignal(sys.relay, { magicKey: 'key-windows' }) });
    expect(result.stoppedBy).toBe('duration');
    await eventually(async () => sys.relay.activePeers() === 0);
    // The last windows (after Stop) leave in the relay's next write batch: wait until both sides' are stored.
    const last = Math.max(...result.seconds.map((e) => e.window_index));
    const rows = await eventually(async () => {
      const rs = await metricRows(sys.db.db, result.surveySessionId);
      return rs.filter((r) => r.source === 'client' && Number(r.window_index) === last).length === 2 ? rs : null;
    });
    expect(result.connIds).toHaveLength(2);
    for (const conn of result.connIds) {
      const server = rows.filter((r) => r.conn_id === conn && r.source === 'server' && r.direction === 'c2s');
      const client = rows.filter((r) => r.conn_id === conn && r.source === 'client' && r.direction === 's2c');
      for (const side of [server, client]) {
        const idx = side.map((r) => Number(r.window_index)).sort((a, b) => a - b);
        // At least four whole seconds and the last one; every index once, none skipped.
        expect(idx.length).toBeGreaterThanOrEqual(5);
        expect(idx).toEqual(Array.from({ length: idx.length }, (_, i) => i));
        for (const r of side) {
          // lost_count is stored and agrees with the rate it is the numerator of; on loopback nothing is lost.
          expect(r.lost_count).not.toBeNull();
          expect(Number(r.lost_count)).toBe(Math.round((Number(r.loss_rate) / 100) * Number(r.probes_expected)));
          expect(Number(r.lost_count)).toBe(0);
        }
      }
      // Both sides ran the same seconds: their counts differ by the last (partial) window at most.
      expect(Math.abs(server.length - client.length)).toBeLessThanOrEqual(1);

      // The client's seconds: one per index, 0..k, each with its own window and the relay's of the same index.
      const seconds = result.seconds.filter((e) => e.conn_id === conn);
      expect(seconds.map((e) => e.window_index)).toEqual(Array.from({ length: seconds.length }, (_, i) => i));
      const serverByIndex = new Map(server.map((r) => [Number(r.window_index), r]));
      const clientByIndex = new Map(client.map((r) => [Number(r.window_index), r]));
      let paired = 0;
      for (const e of seconds) {
        expect(e.s2c.window_index).toBe(e.window_index);
        // What the client measured in second i is the client row stored for index i.
        expect(e.s2c.probe_count).toBe(Number(clientByIndex.get(e.window_index)!.probe_count));
        if (!e.c2s) continue;
        paired++;
        expect(e.c2s.window_index).toBe(e.window_index);
        // The relay window shown in second i is the relay's stored row of index i, not whatever arrived then.
        expect(e.c2s.probe_count).toBe(Number(serverByIndex.get(e.window_index)!.probe_count));
        expect(e.c2s.lost_count).toBe(Number(serverByIndex.get(e.window_index)!.lost_count));
      }
      expect(paired).toBeGreaterThanOrEqual(4);
    }

    // The console's series (1 s buckets here) places each row at its connection's first second plus its index:
    // per connection and direction, one bucket a second, consecutive, and the two directions on the same seconds.
    const rs = await sys.db.db.execute(seriesStatement(result.surveySessionId, { points: 2_000 }));
    expect(Number(rs.rows[0]!.bucket_ms)).toBe(1000);
    for (const conn of result.connIds) {
      const at = (dir: string) => rs.rows.filter((r) => r.conn_id === conn && r.direction === dir).map((r) => Number(r.timestamp_ms));
      for (const dir of ['c2s', 's2c']) {
        const t = at(dir);
        expect(t.length).toBe(rows.filter((r) => r.conn_id === conn && r.direction === dir).length);
        for (let i = 1; i < t.length; i++) expect(t[i]! - t[i - 1]!).toBe(1000);
      }
      const [c2s, s2c] = [at('c2s'), at('s2c')];
      expect(c2s[0]).toBe(s2c[0]);
    }
  });
});
