// A throughput test whose transfer stops (its load connection's path goes dead mid-test) is an error in words, never a
// run of loaded seconds at 0 bit/s; the survey itself measures on and ends normally.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pointCandidatesAt } from '../../accuracy/signal-through.js';
import { spawnForwarder, type ForwarderProcess } from '../../accuracy/spawn-forwarder.js';
import { runProbe } from '../../cli/run-probe.js';
import type { SurveyEvent } from '../../client/survey-client.js';
import type { RelayHandle } from '../../relay/relay.js';
import { directSignal, freeUdpPort, startTestDb, startTestRelay, type TestDb } from '../helpers/system.js';

let db: TestDb;
let relay: RelayHandle;
let forwarder: ForwarderProcess;
beforeAll(async () => {
  db = await startTestDb();
  const loadUdpPort = await freeUdpPort();
  relay = await startTestRelay(db, { loadUdpPort });
  const none = { delayMs: 0, jitterMs: 0, lossPct: 0, reorderPct: 0 };
  // Only the load connection goes through it: the probes keep their direct path.
  forwarder = await spawnForwarder({ relayPort: relay.udpPort, loadRelayPort: loadUdpPort, c2s: none, s2c: none, seed: 3 });
});
afterAll(async () => {
  await forwarder?.close();
  await relay?.close();
  await db?.close();
});

describe('a stalled throughput test', () => {
  it('is stopped with an error in words, and no loaded second reads 0 bit/s', async () => {
    const events: SurveyEvent[] = [];
    let cut = false;
    const result = await runProbe({
      url: '',
      key: 'x',
      durationMs: 14_000,
      throughput: true,
      signal: directSignal(relay, { magicKey: 'stall' }),
      loadAnswer: (sdp) => pointCandidatesAt(sdp, forwarder.loadAddress!),
      onEvent: (e) => {
        events.push(e);
        // Two seconds of download got through; then the path goes dead.
        if (!cut && e.type === 'stats' && events.filter((x) => x.type === 'stats' && x.s2c.loaded).length >= 2) {
          cut = true;
          void forwarder.close();
        }
      },
    });
    expect(cut).toBe(true);
    expect(result.stoppedBy).toBe('duration');
    expect(result.throughputFailed).toBe(true);
    const errors = events.filter((e) => e.type === 'error');
    expect(errors).toEqual([
      { type: 'error', code: 'throughput_stalled', message: 'the throughput test stopped: the download moved no data for 3 s, so no throughput or latency under load could be measured' },
    ]);
    // Seconds are loaded only when the load connection carried bytes.
    const loaded = result.seconds.filter((s) => s.s2c.loaded);
    expect(loaded.length).toBeGreaterThanOrEqual(2);
    for (const s of loaded) expect(s.throughput!.s2c_bytes_per_s).toBeGreaterThan(0);
    // The probes went on to the end.
    expect(result.seconds.at(-2)!.s2c.probe_count).toBeGreaterThan(80);
  }, 60_000);
});
