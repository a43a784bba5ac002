// A relay on the open internet: a client cannot attach to another key's survey, reuse a live conn_id,
// or flood the control channel into other people's rows.
import { describe, expect, it } from 'vitest';
import { runProbe } from '../../cli/run-probe.js';
import { uuid } from '../../shared/ids.js';
import { directSignal, eventually, metricRows, relayToken, testKeyId } from '../helpers/system.js';
import { openRawClient } from '../helpers/raw-client.js';
import { useDbAndRelay } from '../helpers/use-system.js';

const sys = useDbAndRelay();

/** A bare connection straight to the relay, under `magicKey`, speaking the control protocol by hand. */
const rawClient = (magicKey: string) => openRawClient(directSignal(sys.relay, { magicKey }));

describe('survey ownership', () => {
  it('refuses an attach to another key’s survey with forbidden, and the victim’s rows stay untouched', async () => {
    const victim = await runProbe({ url: '', key: 'x', durationMs: 2_500, signal: directSignal(sys.relay, { magicKey: 'victim-key' }) });
    const before = await metricRows(sys.db.db, victim.surveySessionId);
    expect(before.length).toBeGreaterThan(0);

    const attacker = await rawClient('attacker-key');
    attacker.send({ type: 'start_survey_session', survey_session_id: victim.surveySessionId });
    await attacker.until((r) => r.some((m) => m.type === 'error'));
    expect(attacker.replies).toContainEqual({ type: 'error', code: 'forbidden', message: 'survey_session_id: this survey belongs to another magic key' });
    expect(attacker.replies.some((m) => m.type === 'server_side_ready')).toBe(false);
    // Nothing it sends afterwards lands in the victim's survey.
    attacker.send({ type: 'start_probe_streams', survey_session_id: victim.surveySessionId });
    await attacker.until((r) => r.filter((m) => m.type === 'error').length >= 2);
    attacker.conn.close();
    const after = await metricRows(sys.db.db, victim.surveySessionId);
    expect(after).toEqual(before);
    const owner = await sys.db.db.execute({ sql: 'SELECT magic_key FROM survey_sessions WHERE session_id = ?', args: [victim.surveySessionId] });
    expect(owner.rows[0]!.magic_key).toBe('victim-key');
  });

  it('answers 409 conflict to a signaling that reuses a live conn_id, and the live connection goes on', async () => {
    const live = await rawClient('key-live');
    const peerId = uuid();
    const token = await relayToken(sys.relay, { op: 'create', peer_id: peerId, key_id: await testKeyId('key-other') });
    const resp = await fetch(`${sys.relay.url}/internal/peers`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ sdp: 'v=0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n', type: 'offer', conn_id: live.conn.connId }),
    });
    expect(resp.status).toBe(409);
    expect(((await resp.json()) as { error: { code: string } }).error.code).toBe('conflict');
    // The live one still answers.
    live.send({ type: 'start_survey_session', survey_session_id: uuid() });
    await live.until((r) => r.some((m) => m.type === 'server_side_ready'));
    live.conn.close();
  });
});

describe('per-connection control budget', () => {
  it('refuses a probe_stats flood with rate_limited: the flooder writes about one row a second, another session loses nothing', async () => {
    const honest = runProbe({ url: '', key: 'x', durationMs: 4_000, signal: directSignal(sys.relay, { magicKey: 'key-honest' }) });
    const flooder = await rawClient('key-flood');
    const surveyId = uuid();
    flooder.send({ type: 'start_survey_session', survey_session_id: surveyId });
    await flooder.until((r) => r.some((m) => m.type === 'server_side_ready'));
    flooder.send({ type: 'start_probe_streams', survey_session_id: surveyId });
    const stats = { delay_deviation_ms: [0, 0, 0, 0], rtt_ms: [0, 0, 0, 0], jitter_ms: [0, 0, 0, 0], loss_rate: 0, reorder_rate: 0, probe_count: 0, baseline_delay_ms: 0 };
    const flood = { type: 'probe_stats', survey_session_id: surveyId, timestamp_ms: Date.now(), c2s_stats: stats, s2c_stats: stats };
    for (let i = 0; i < 2_000; i++) flooder.send(flood);
    await flooder.until((r) => r.some((m) => m.type === 'error' && m.code === 'rate_limited'));
    const result = await honest;
    flooder.conn.close();
    // The honest survey: every second written, no loss.
    const rows = await eventually(async () => {
      const r = await metricRows(sys.db.db, result.surveySessionId);
      return r.filter((x) => x.source === 'server').length >= 4 ? r : null;
    });
    for (const r of rows) expect(Number(r.loss_rate)).toBe(0);
    // The flooder: its budget (a burst of 20, then 5 a second) bounds its client rows, not the 2,000 it sent.
    const flooded = await metricRows(sys.db.db, surveyId);
    expect(flooded.filter((r) => r.source === 'client').length).toBeLessThanOrEqual(40);
    // One error per streak of refusals, and one more when persistent abuse closes the connection: never one per message.
    expect(flooder.replies.filter((m) => m.type === 'error' && m.code === 'rate_limited').length).toBeLessThanOrEqual(5);
    await eventually(async () => sys.relay.activePeers() === 0);
  });
});
