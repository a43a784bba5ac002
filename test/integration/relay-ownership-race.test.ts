// Two keys racing for one survey id on two relays sharing a database (issue 18, item 6): the survey row is
// written before start_survey_session is accepted, so exactly one key owns it, the other gets forbidden,
// and nothing of the loser's lands in that survey.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uuid } from '../../shared/ids.js';
import type { ControlMessage } from '../../shared/protocol/control.js';
import type { RelayHandle } from '../../relay/relay.js';
import { openRawClient, type RawClient } from '../helpers/raw-client.js';
import { directSignal, eventually, metricRows, startTestDb, startTestRelay, type TestDb } from '../helpers/system.js';

let db: TestDb;
let relays: RelayHandle[];

beforeAll(async () => {
  db = await startTestDb();
  relays = [await startTestRelay(db), await startTestRelay(db)];
}, 30_000);

afterAll(async () => {
  for (const r of relays ?? []) await r.close();
  await db?.close();
});

const answered = (r: ControlMessage[]) => r.some((m) => m.type === 'server_side_ready' || m.type === 'error');
const outcome = (c: RawClient) => {
  const m = c.replies.find((x) => x.type === 'server_side_ready' || x.type === 'error')!;
  return m.type === 'error' ? m.code : m.type;
};

describe('two relays racing start_survey_session for one survey id', () => {
  it('exactly one key owns it; the other gets forbidden and has no rows in it', async () => {
    const ROUNDS = 4;
    for (let round = 0; round < ROUNDS; round++) {
      const surveyId = uuid();
      const keys = [`race-a-${round}`, `race-b-${round}`];
      const clients = await Promise.all(relays.map((relay, i) => openRawClient(directSignal(relay, { magicKey: keys[i]! }))));
      // Both at once: each relay looks the survey up while the other's start is in flight.
      for (const c of clients) c.send({ type: 'start_survey_session', survey_session_id: surveyId });
      await Promise.all(clients.map((c) => c.until(answered)));
      const outcomes = clients.map(outcome);
      expect(outcomes.sort()).toEqual(['forbidden', 'server_side_ready']);
      const winner = clients.find((c) => outcome(c) === 'server_side_ready')!;
      const loser = clients.find((c) => outcome(c) === 'forbidden')!;
      const winnerKey = keys[clients.indexOf(winner)]!;

      // Both go on as if started: the loser's streams and stats must land nowhere.
      for (const c of clients) c.send({ type: 'start_probe_streams', survey_session_id: surveyId });
      const stats = { delay_deviation_ms: [0, 0, 0, 0], rtt_ms: [0, 0, 0, 0], jitter_ms: [0, 0, 0, 0], loss_rate: 0, reorder_rate: 0, probe_count: 0, baseline_delay_ms: 0 };
      loser.send({ type: 'probe_stats', survey_session_id: surveyId, timestamp_ms: Date.now(), c2s_stats: stats, s2c_stats: stats });
      await loser.until((r) => r.filter((m) => m.type === 'error').length >= 3);
      await eventually(async () => {
        const r = await metricRows(db.db, surveyId);
        return r.some((x) => x.source === 'server');
      });
      const linked = await db.db.execute({ sql: 'SELECT conn_id FROM relay_peers WHERE survey_session_id = ?', args: [surveyId] });
      expect(linked.rows.map((r) => r.conn_id)).toEqual([winner.conn.connId]);
      for (const c of clients) c.conn.close();
      await eventually(async () => relays.every((r) => r.activePeers() === 0 && r.writer.buffered === 0));

      const owner = await db.db.execute({ sql: 'SELECT magic_key FROM survey_sessions WHERE session_id = ?', args: [surveyId] });
      expect(owner.rows.map((r) => r.magic_key)).toEqual([winnerKey]);
      const rows = await metricRows(db.db, surveyId);
      expect(new Set(rows.map((r) => r.conn_id))).toEqual(new Set([winner.conn.connId]));
    }
  }, 60_000);
});
