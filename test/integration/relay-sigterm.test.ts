// SIGTERM to a real relay process (relay/main.ts): it drains (registered draining, surveys go on) and exits once
// empty; a second signal during the drain stops it at once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runProbe } from '../../cli/run-probe.js';
import { startRelayProcess } from '../../bench/relay-process.js';
import { directSignal, eventually, metricRows, startTestDb, type TestDb } from '../helpers/system.js';

let db: TestDb;

beforeAll(async () => {
  db = await startTestDb();
});

afterAll(async () => {
  await db?.close();
});

const exitOf = (child: import('node:child_process').ChildProcess) =>
  new Promise<{ code: number | null; at: number }>((resolve) => {
    if (child.exitCode !== null) return resolve({ code: child.exitCode, at: Date.now() });
    child.once('exit', (code) => resolve({ code, at: Date.now() }));
  });

async function relayRow(id: string): Promise<{ state: unknown; last_heartbeat: unknown } | undefined> {
  const rs = await db.db.execute({ sql: 'SELECT state, last_heartbeat FROM relays WHERE id = ?', args: [id] });
  return rs.rows[0] as unknown as { state: unknown; last_heartbeat: unknown } | undefined;
}

describe('a relay process and SIGTERM', () => {
  it('with no peer: registers draining and exits 0 at once', async () => {
    const relay = await startRelayProcess(db.url, db.authToken, db.dir, { RELAY_ID: 'sigterm-empty', RELAY_DRAIN_S: '900' });
    const exited = exitOf(relay.child);
    const t0 = Date.now();
    relay.child.kill('SIGTERM');
    const { code, at } = await exited;
    expect(code).toBe(0);
    expect(at - t0).toBeLessThan(5_000);
    expect(await relayRow('sigterm-empty')).toMatchObject({ state: 'draining', last_heartbeat: 0 });
  });

  it('with a survey running: keeps it going while draining; a second SIGTERM stops at once and ends it relay_shutdown', async () => {
    const relay = await startRelayProcess(db.url, db.authToken, db.dir, { RELAY_ID: 'sigterm-busy', RELAY_DRAIN_S: '900' });
    const exited = exitOf(relay.child);
    let measuring: () => void = () => undefined;
    const seen = new Promise<void>((r) => (measuring = r));
    const running = runProbe({
      url: '',
      key: 'x',
      durationMs: 60_000,
      signal: directSignal(relay, { magicKey: 'sigterm-key' }),
      onEvent: (e) => e.type === 'stats' && measuring(),
    });
    await seen;
    const drainAt = Date.now();
    relay.child.kill('SIGTERM');
    await eventually(async () => (await relayRow('sigterm-busy'))?.state === 'draining', 5_000, 50);
    // Still measuring: rows keep coming for two more seconds, and the process is alive.
    let surveyId = '';
    await eventually(async () => {
      const rs = await db.db.execute("SELECT session_id FROM survey_sessions WHERE magic_key = 'sigterm-key'");
      surveyId = String(rs.rows[0]?.session_id ?? '');
      const rows = surveyId ? await metricRows(db.db, surveyId) : [];
      return rows.filter((r) => r.source === 'server' && Number(r.timestamp_ms) > drainAt + 1_000).length >= 2;
    }, 10_000);
    expect(relay.child.exitCode).toBeNull();

    const t1 = Date.now();
    relay.child.kill('SIGTERM');
    const { code, at } = await exited;
    expect(code).toBe(0);
    expect(at - t1).toBeLessThan(8_000);
    const result = await running;
    expect(result.stoppedBy).toBe('error');
    await eventually(async () => {
      const rs = await db.db.execute({ sql: 'SELECT end_reason FROM survey_sessions WHERE session_id = ?', args: [surveyId] });
      return rs.rows[0]?.end_reason === 'relay_shutdown';
    });
  });
});
