// Finding 6 of issue 17 against a real relay: a start_probe_streams that reaches the relay late (here: sent 1 s
// after the client began probing, as when usrsctp retransmits a lost packet after its 1 s minimum) is not loss.
// The relay counts the client's probes from the first one that arrives after its streams start.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProbeEndpoint } from '../../shared/probe/endpoint.js';
import { uuid } from '../../shared/ids.js';
import { nowMs } from '../../shared/time.js';
import type { ControlMessage } from '../../shared/protocol/control.js';
import type { RelayHandle } from '../../relay/relay.js';
import { openRawClient } from '../helpers/raw-client.js';
import { directSignal, eventually, metricRows, startTestDb, startTestRelay, type TestDb } from '../helpers/system.js';

let db: TestDb;
let relay: RelayHandle;

beforeAll(async () => {
  db = await startTestDb();
  relay = await startTestRelay(db);
});

afterAll(async () => {
  await relay?.close();
  await db?.close();
});

const windows = (r: ControlMessage[]) => r.flatMap((m) => (m.type === 'probe_stats' ? [m.c2s_stats] : []));

describe('a delayed start', () => {
  it('probes sent a second before the relay heard start_probe_streams are not lost: its first window reads 0 %', async () => {
    const c = await openRawClient(directSignal(relay, { magicKey: 'delayed-start' }));
    const surveyId = uuid();
    c.send({ type: 'start_survey_session', survey_session_id: surveyId });
    await c.until((r) => r.some((m) => m.type === 'server_side_ready'));
    const probes = createProbeEndpoint({
      sendDirection: 'c2s',
      connId: c.conn.connId,
      send: (text) => {
        if (c.conn.channels.probe.readyState !== 'open') return false;
        c.conn.channels.probe.send(text);
        return true;
      },
    });
    const report = () => c.send({ type: 'sender_report', survey_session_id: surveyId, timestamp_ms: nowMs(), ...probes.senderReport() });
    probes.start();
    // The client probes for a second before the relay hears the start (the relay ignores probes until then).
    await new Promise((r) => setTimeout(r, 1_000));
    const sentBefore = probes.sent;
    expect(sentBefore).toBeGreaterThan(50);
    c.send({ type: 'start_probe_streams', survey_session_id: surveyId });
    const reports = setInterval(report, 1_000);
    try {
      await c.until((r) => windows(r).length >= 3);
    } finally {
      clearInterval(reports);
      probes.stop();
    }
    const first = windows(c.replies)[0]!;
    expect(first.probe_count).toBeGreaterThan(50);
    expect(first.probes_expected).toBeGreaterThan(0);
    expect(first.loss_rate).toBe(0);
    for (const w of windows(c.replies)) expect(w.loss_rate).toBe(0);
    // And so the stored rows.
    const rows = await eventually(async () => {
      const rs = (await metricRows(db.db, surveyId)).filter((x) => x.source === 'server');
      return rs.length >= 3 ? rs : null;
    });
    for (const row of rows) expect(Number(row.loss_rate)).toBe(0);
    c.conn.close();
  });
});
