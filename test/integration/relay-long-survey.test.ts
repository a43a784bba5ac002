// A long survey must not grow the relay: the equivalent of a default 10-minute survey (60,000 probes),
// injected at speed with capture on, keeps the relay's heap within a stated bound.
import { describe, expect, it } from 'vitest';
import { uuid } from '../../shared/ids.js';
import { directSignal, eventually, metricRows } from '../helpers/system.js';
import { openRawClient } from '../helpers/raw-client.js';
import { useDbAndRelay } from '../helpers/use-system.js';

const sys = useDbAndRelay();

/** Heap growth allowed for one 10-minute survey's worth of probes, capture included (capture bytes live outside the JS heap). */
const HEAP_BOUND_MB = 8;
const PROBES = 60_000;

describe('a 10-minute survey injected at speed', () => {
  it(`keeps the relay heap within ${HEAP_BOUND_MB} MB and its capture within the per-connection cap`, async () => {
    const raw = await openRawClient(directSignal(sys.relay, { magicKey: 'key-long' }));
    const { conn } = raw;
    const surveyId = uuid();
    const ids = { survey_session_id: surveyId, conn_id: conn.connId };
    conn.channels.control.send(JSON.stringify({ type: 'start_survey_session', ...ids }));
    await raw.until((r) => r.some((m) => m.type === 'server_side_ready'));
    conn.channels.control.send(JSON.stringify({ type: 'start_probe_streams', ...ids }));
    global.gc!();
    const before = process.memoryUsage().heapUsed;

    const probe = conn.channels.probe;
    probe.bufferedAmountLowThreshold = 64 * 1024;
    const t0 = Date.now() - PROBES * 10;
    for (let seq = 0; seq < PROBES; seq++) {
      probe.send(JSON.stringify({ seq, sent_at_ms: t0 + seq * 10, direction: 'c2s', conn_id: conn.connId, echoes: [{ seq: 0, sent_at_ms: t0, held_ms: 1 }] }));
      // Paced by the channel's own buffer: the next batch goes when it has drained (an event, not a sleep).
      if (probe.bufferedAmount > 256 * 1024) await new Promise((r) => probe.addEventListener('bufferedamountlow', r, { once: true }));
    }
    // Let the relay settle what it received (Tmax) and write its seconds.
    await eventually(async () => (await metricRows(sys.db.db, surveyId)).reduce((n, r) => n + (r.source === 'server' ? Number(r.probe_count) : 0), 0) > PROBES * 0.9, 30_000);
    global.gc!();
    const grown = (process.memoryUsage().heapUsed - before) / 1e6;
    const capture = sys.relay.captureCounters();
    conn.close();
    await eventually(async () => sys.relay.activePeers() === 0);
    expect(grown).toBeLessThan(HEAP_BOUND_MB);
    expect(capture.records_captured).toBeGreaterThan(PROBES * 0.5);
    expect(capture.bytes_held).toBeLessThanOrEqual(16 * 1024 * 1024);
  }, 120_000);
});
