// How a survey ends is recorded on its row: an explicit stop, the client going away, a clean relay shutdown,
// or a relay that died and started again.
import { RTCPeerConnection } from 'node-datachannel/polyfill';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runProbe } from '../../cli/run-probe.js';
import { startSurvey, type SurveyEvent, type SurveyHandle } from '../../client/survey-client.js';
import { endSurveySession, insertSurveySession } from '../../shared/db/surveys.js';
import { uuid } from '../../shared/ids.js';
import type { RelayHandle } from '../../relay/relay.js';
import { directSignal, eventually, metricRows, startTestDb, startTestRelay, type TestDb } from '../helpers/system.js';

let db: TestDb;
const relays: RelayHandle[] = [];
const surveys: SurveyHandle[] = [];

beforeAll(async () => {
  db = await startTestDb();
});
afterEach(async () => {
  for (const s of surveys.splice(0)) s.close();
  for (const r of relays.splice(0)) await r.close();
});
afterAll(async () => {
  await db?.close();
});

async function relay(relayId?: string): Promise<RelayHandle> {
  const r = await startTestRelay(db, relayId ? { relayId } : {});
  relays.push(r);
  return r;
}

/** A survey measuring on `r` until the test ends it. */
async function liveSurvey(r: RelayHandle, magicKey: string): Promise<SurveyHandle> {
  const s = await startSurvey({
    baseUrl: '',
    magicKey,
    RTCPeerConnection: RTCPeerConnection as unknown as typeof globalThis.RTCPeerConnection,
    signal: directSignal(r, { magicKey }),
  });
  surveys.push(s);
  return s;
}

interface SurveyRow {
  start_time: number;
  last_update_time: number;
  end_time: number | null;
  end_reason: string | null;
}

async function surveyRow(id: string): Promise<SurveyRow | null> {
  const rs = await db.db.execute({ sql: 'SELECT start_time, last_update_time, end_time, end_reason FROM survey_sessions WHERE session_id = ?', args: [id] });
  const r = rs.rows[0];
  if (!r) return null;
  return {
    start_time: Number(r.start_time),
    last_update_time: Number(r.last_update_time),
    end_time: r.end_time === null ? null : Number(r.end_time),
    end_reason: r.end_reason === null ? null : String(r.end_reason),
  };
}

/** The survey's row once its end is recorded. */
const ended = (id: string) => eventually(async () => ((await surveyRow(id))?.end_reason ? surveyRow(id) : null));

/** Waits until the relay has released every peer and written everything it queued, including their ends. */
async function settled(r: RelayHandle): Promise<void> {
  await eventually(async () => r.activePeers() === 0 && r.writer.buffered === 0);
}

describe('survey end', () => {
  it("records 'stopped' for an explicit stop, not overwritten by the close that follows it", async () => {
    const r = await relay();
    const before = Date.now();
    const result = await runProbe({ url: '', key: 'x', durationMs: 2_000, signal: directSignal(r, { magicKey: 'end-stop' }) });
    expect(result.stoppedBy).toBe('duration');
    const row = (await ended(result.surveySessionId))!;
    await settled(r);
    const after = (await surveyRow(result.surveySessionId))!;
    expect(after.end_reason).toBe('stopped');
    expect(after.end_time).toBe(row.end_time);
    expect(after.end_time!).toBeGreaterThanOrEqual(Math.max(before, after.start_time));
    expect(after.end_time!).toBeLessThanOrEqual(Date.now());
  });

  it("stops at the key's measuring limit like an explicit stop: end_reason 'time_limit', both last windows stored, a capture", async () => {
    const r = await relay();
    const events: SurveyEvent[] = [];
    const started = Date.now();
    const result = await runProbe({ url: '', key: 'x', durationMs: 15_000, signal: directSignal(r, { magicKey: 'end-limit', maxMeasuringMs: 2_500 }), onEvent: (e) => events.push(e) });
    expect(result.stoppedBy).toBe('time_limit');
    expect(Date.now() - started).toBeLessThan(10_000);
    // The client said so while stopping, then stopped with the capture saved, as on Stop.
    expect(events).toContainEqual({ type: 'status', status: 'stopping', reason: 'time_limit' });
    expect(events.filter((e) => e.type === 'stopped')).toEqual([{ type: 'stopped', pcap_available: true, reason: 'time_limit' }]);
    expect(result.pcapAvailable).toBe(true);
    const last = result.seconds.at(-1)!;
    expect(last.final).toBe(true);
    expect(last.c2s).not.toBeNull();

    const row = (await ended(result.surveySessionId))!;
    expect(row.end_reason).toBe('time_limit');
    await settled(r);
    expect((await surveyRow(result.surveySessionId))!.end_reason).toBe('time_limit');
    const captures = await db.db.execute({ sql: 'SELECT conn_id FROM survey_captures WHERE session_id = ?', args: [result.surveySessionId] });
    expect(captures.rows.map((c) => c.conn_id)).toEqual(result.connIds);

    // Every window the client closed is stored, its last one (after the limit) too, and so is every relay
    // window it received; on loopback none is lost, so every probe either side sent settled as received.
    const rows = await metricRows(db.db, result.surveySessionId);
    const server = rows.filter((x) => x.source === 'server');
    const client = rows.filter((x) => x.source === 'client');
    expect(client.length).toBe(result.seconds.length);
    const relayWindows = result.seconds.flatMap((e) => (e.c2s ? [e.c2s] : []));
    const sum = (rs: readonly object[], col: string) => rs.reduce((n, x) => n + Number((x as Record<string, unknown>)[col] ?? 0), 0);
    expect(sum(server, 'probe_count')).toBe(sum(relayWindows, 'probe_count'));
    for (const rs of [server, client]) {
      expect(sum(rs, 'probes_expected')).toBe(sum(rs, 'probe_count'));
      expect(sum(rs, 'probe_count')).toBeGreaterThan(150);
    }
  });

  it("records 'closed' when the client goes away without a stop", async () => {
    const r = await relay();
    const result = await runProbe({ url: '', key: 'x', durationMs: 2_000, abrupt: true, signal: directSignal(r, { magicKey: 'end-close' }) });
    const closedAt = Date.now();
    const row = (await ended(result.surveySessionId))!;
    expect(row.end_reason).toBe('closed');
    expect(row.end_time!).toBeGreaterThanOrEqual(row.start_time);
    expect(row.end_time!).toBeGreaterThanOrEqual(closedAt - 1_000);
    expect(row.end_time!).toBeLessThanOrEqual(Date.now());
  });

  it("records 'relay_shutdown' for a survey still live when its relay shuts down cleanly", async () => {
    const r = await relay();
    const s = await liveSurvey(r, 'end-shutdown');
    await eventually(async () => surveyRow(s.surveySessionId));
    expect((await surveyRow(s.surveySessionId))!.end_reason).toBeNull();
    const closing = Date.now();
    relays.splice(relays.indexOf(r), 1);
    await r.close();
    // close() waited for its final flush: the end is there at once.
    const row = (await surveyRow(s.surveySessionId))!;
    expect(row.end_reason).toBe('relay_shutdown');
    expect(row.end_time!).toBeGreaterThanOrEqual(closing);
    expect(r.writer.counters().dropped).toEqual({ overflow: 0, refused: 0, shutdown: 0 });
  });

  it("ends as 'relay_restart' the survey of a relay that died and started again", async () => {
    const relayId = `test-dies-${uuid().slice(0, 8)}`;
    const dying = await relay(relayId);
    const s = await liveSurvey(dying, 'end-restart');
    // The peer's row names its survey (written through the relay's queue).
    await eventually(async () => {
      const rs = await db.db.execute({ sql: 'SELECT 1 FROM relay_peers WHERE relay_id = ? AND closed_at IS NULL AND survey_session_id = ?', args: [relayId, s.surveySessionId] });
      return rs.rows.length === 1;
    });
    expect((await surveyRow(s.surveySessionId))!.end_reason).toBeNull();

    // The first run never closes (it "died"); a new run with the same id starts on the same database.
    const startedAgain = Date.now();
    await relay(relayId);
    const row = (await surveyRow(s.surveySessionId))!;
    expect(row.end_reason).toBe('relay_restart');
    expect(row.end_time).not.toBeNull();
    // The end is the dead run's last sign of life (its last heartbeat, every 500 ms here, or the survey's last row).
    expect(row.end_time!).toBeGreaterThanOrEqual(Math.max(row.start_time, startedAgain - 1_500));
    expect(row.end_time!).toBeLessThanOrEqual(Date.now());
    const open = await db.db.execute({ sql: 'SELECT COUNT(*) AS n FROM relay_peers WHERE relay_id = ? AND closed_at IS NULL', args: [relayId] });
    expect(Number(open.rows[0]!.n)).toBe(0);
  });

  it('keeps the latest of several ends, and end_time never moves back', async () => {
    const id = uuid();
    const write = (at: number, reason: Parameters<typeof endSurveySession>[2]) => db.db.execute(endSurveySession(id, at, reason));
    await db.db.execute(insertSurveySession({ session_id: id, magic_key: 'end-multi', user_login: null, now: 1_000 }));
    await write(2_000, 'closed'); // the first connection closes
    await write(3_000, 'stopped'); // the second is stopped later: it wins
    expect(await surveyRow(id)).toMatchObject({ end_time: 3_000, end_reason: 'stopped' });
    await write(2_500, 'closed'); // an end that lands late but happened earlier changes nothing
    expect(await surveyRow(id)).toMatchObject({ end_time: 3_000, end_reason: 'stopped' });
  });
});
