// Runs a survey with a download throughput test in a process of its own, both of its connections through the forwarder.
import { runProbe } from '../cli/run-probe.js';
import { directSignal } from '../test/helpers/system.js';
import { serveRequests } from './ipc.js';
import { LoadClientRequestSchema, type LoadClientResult } from './load-client-messages.js';
import { pointCandidatesAt, signalThrough } from './signal-through.js';

const stop = new AbortController();

serveRequests(
  async (body) => {
    const m = LoadClientRequestSchema.parse(body);
    if (m.op === 'close') {
      setImmediate(() => process.disconnect());
      return null;
    }
    const errors: string[] = [];
    const r = await runProbe({
      url: '',
      key: m.magicKey,
      durationMs: m.durationMs,
      throughput: true,
      signal: signalThrough(directSignal(m.relay, { magicKey: m.magicKey }), m.forwarder),
      loadAnswer: (sdp) => pointCandidatesAt(sdp, m.loadForwarder),
      abort: stop.signal,
      onEvent: (e) => {
        if (e.type === 'error') errors.push(`${e.code}: ${e.message}`);
      },
    });
    const result: LoadClientResult = {
      stoppedBy: r.stoppedBy,
      throughputFailed: r.throughputFailed,
      errors,
      // Only what the load truth reads crosses to the harness.
      seconds: r.seconds.map((s) => ({
        timestamp_ms: s.timestamp_ms,
        ...(s.final ? { final: true } : {}),
        s2c: { ...(s.s2c.loaded !== undefined ? { loaded: s.s2c.loaded } : {}) },
        ...(s.throughput ? { throughput: { s2c_bytes_per_s: s.throughput.s2c_bytes_per_s } } : {}),
      })),
      responsiveness: r.responsiveness,
    };
    return result;
  },
  async () => stop.abort(),
);
