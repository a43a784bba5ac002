import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RTCPeerConnection } from 'node-datachannel/polyfill';
import { openConnection, type Connection } from '../../client/connection.js';
import { createProbeEndpoint } from '../../shared/probe/endpoint.js';
import { parseControlMessage, type ControlMessage } from '../../shared/protocol/control.js';
import type { RelayHandle } from '../../relay/relay.js';
import { directSignal, startTestDb, startTestRelay, type TestDb } from '../helpers/system.js';

let db: TestDb;
let relay: RelayHandle;
let conn: Connection;
const replies: ControlMessage[] = [];
const waiters: { pred: (m: ControlMessage[]) => boolean; resolve: () => void }[] = [];

beforeAll(async () => {
  db = await startTestDb();
  // The fuzz pours messages far faster than a client may: a budget this large lets each reach the parser.
  relay = await startTestRelay(db, { controlBudget: { burst: 1_000_000, perSecond: 1_000_000 } });
  conn = await openConnection({
    RTCPeerConnection: RTCPeerConnection as unknown as typeof globalThis.RTCPeerConnection,
    signal: directSignal(relay, { magicKey: 'fuzz-key' }),
    connId: crypto.randomUUID(),
    iceTimeoutMs: 10_000,
  });
  conn.channels.control.onmessage = (e) => {
    const p = parseControlMessage(e.data);
    if (p.ok) replies.push(p.message);
    for (const w of [...waiters]) {
      if (!w.pred(replies)) continue;
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve();
    }
  };
});
afterAll(async () => {
  conn?.close();
  await relay?.close();
  await db?.close();
});

/** Resolves when the replies so far satisfy `pred` (replies arrive as events). */
const until = (pred: (m: ControlMessage[]) => boolean) =>
  new Promise<void>((resolve) => (pred(replies) ? resolve() : waiters.push({ pred, resolve })));

let seed = 12345;
const rnd = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
const pick = <T>(a: readonly T[]): T => a[Math.floor(rnd() * a.length)]!;
const randomText = (n: number) => Array.from({ length: n }, () => String.fromCharCode(Math.floor(rnd() * 0x2fff))).join('');

/** Messages each of which must be refused with an `error` reply. */
function badControlMessage(surveyId: string): string {
  const valid = { type: 'start_survey_session', survey_session_id: surveyId, conn_id: conn.connId };
  const kind = Math.floor(rnd() * 8);
  switch (kind) {
    case 0:
      return randomText(1 + Math.floor(rnd() * 200));
    case 1:
      return JSON.stringify({ type: randomText(8) });
    case 2:
      return JSON.stringify({ ...valid, survey_session_id: pick([42, null, 'not-a-uuid', [], {}]) });
    case 3:
      return JSON.stringify({ ...valid, type: pick(['server_side_ready', 'survey_session_stopped', 'error', 'measuring_time_response']), code: 'x', message: 'y', pcap_available: true, max_duration_ms: 1 });
    case 4:
      return JSON.stringify({ type: 'probe_stats', survey_session_id: surveyId, conn_id: conn.connId, timestamp_ms: 1, c2s_stats: { rtt_ms: [1] }, s2c_stats: null });
    case 5:
      return JSON.stringify(pick([[], 1, 'x', null, true]));
    case 6:
      return JSON.stringify({ ...valid, type: pick(['stop_probe_streams', 'get_measuring_time', 'stop_survey_session']), survey_session_id: crypto.randomUUID() });
    default:
      return JSON.stringify({ ...valid, conn_id: 'someone-else' });
  }
}

describe('fuzzing a live session', () => {
  it('answers thousands of bad control messages with errors, drops bad probes, and still measures correctly', async () => {
    const surveyId = crypto.randomUUID();
    const N = 3000;
    for (let i = 0; i < N; i++) conn.channels.control.send(badControlMessage(surveyId));
    for (let i = 0; i < 2000; i++) {
      const probe = { seq: Math.floor(rnd() * 1e9), sent_at_ms: rnd() * 1e13, direction: pick(['c2s', 's2c', 'x']), conn_id: pick([conn.connId, 'other']) };
      conn.channels.probe.send(pick([randomText(50), JSON.stringify(probe), JSON.stringify({ ...probe, seq: -1 })]));
    }
    await until((r) => r.filter((m) => m.type === 'error').length >= N);
    const errors = replies.filter((m) => m.type === 'error');
    expect(errors).toHaveLength(N);
    expect(replies.filter((m) => m.type !== 'error')).toHaveLength(0);
    const codes = new Set(errors.map((e) => (e.type === 'error' ? e.code : '')));
    for (const c of ['not_json', 'unknown_type', 'invalid_message', 'wrong_direction', 'invalid_state']) expect(codes).toContain(c);
    expect(relay.activePeers()).toBe(1);
    // Nothing was recorded by any of it.
    const rows = await db.db.execute('SELECT (SELECT COUNT(*) FROM survey_sessions) AS s, (SELECT COUNT(*) FROM survey_metrics) AS m');
    expect([Number(rows.rows[0]!.s), Number(rows.rows[0]!.m)]).toEqual([0, 0]);

    // The same connection still runs a proper survey.
    const ids = { survey_session_id: surveyId, conn_id: conn.connId };
    conn.channels.control.send(JSON.stringify({ type: 'start_survey_session', ...ids }));
    await until((r) => r.some((m) => m.type === 'server_side_ready'));
    const client = createProbeEndpoint({ sendDirection: 'c2s', connId: conn.connId, send: (t) => conn.channels.probe.send(t) });
    conn.channels.probe.onmessage = (e) => client.receive(e.data);
    conn.channels.control.send(JSON.stringify({ type: 'start_probe_streams', ...ids }));
    client.start();
    await until((r) => r.filter((m) => m.type === 'probe_stats').length >= 3);
    client.stop();
    const last = replies.filter((m) => m.type === 'probe_stats').at(-1)!;
    if (last.type !== 'probe_stats') throw new Error('unreachable');
    expect(last.c2s_stats.probe_count).toBeGreaterThan(80);
    expect(last.c2s_stats.loss_rate).toBeLessThan(5);
    expect(last.c2s_stats.rtt_ms[0]).toBeGreaterThan(0);
    expect(client.report().probe_count).toBeGreaterThan(50);
  });
});
