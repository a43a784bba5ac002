// A region with one relay and a client whose network connects slower than the connect bound: giving the relay up
// finds no other (the edge leaves the named one out), so the client asks again without naming it and waits the whole
// ICE bound there, instead of failing a survey a healthy relay would have carried.
import { beforeAll, describe, expect, it } from 'vitest';
import { runProbe } from '../../cli/run-probe.js';
import { edgeSignal, type Signal } from '../../client/signaling.js';
import { createMagicKey } from '../../shared/db/keys.js';
import { useEdgeSystem } from '../helpers/use-system.js';

const sys = useEdgeSystem();
let key: string;

beforeAll(async () => {
  key = (await createMagicKey(sys.db.db, { label: 'lone relay', ttlMs: 3_600_000 })).key;
});

describe('one relay, a client slower than the connect bound', () => {
  it('gives the relay up, finds no other, and measures on it after all with the whole ICE bound', async () => {
    const { edge, relay } = sys;
    const inner = edgeSignal(edge.url, key);
    const calls: { retryOf: string | null; relay: string | null; error: string | null }[] = [];
    const signal: Signal = async (o) => {
      try {
        const answer = await inner(o);
        calls.push({ retryOf: o.retry_of ?? null, relay: answer.relay_id, error: null });
        return answer;
      } catch (e) {
        calls.push({ retryOf: o.retry_of ?? null, relay: null, error: (e as { code?: string }).code ?? String(e) });
        throw e;
      }
    };
    // A bound no connection meets: every first answer is given up, as on a path of several hundred ms.
    const r = await runProbe({ url: edge.url, key, durationMs: 1_500, signal, connectTimeoutMs: 1 });
    expect(r.stoppedBy).toBe('duration');
    expect(r.seconds.length).toBeGreaterThanOrEqual(1);
    expect(calls.map((c) => c.relay)).toEqual([relay.relayId, null, relay.relayId]);
    expect(calls[1]).toMatchObject({ retryOf: expect.any(String), error: 'no_relay' });
    expect(calls[2]!.retryOf).toBeNull();
  }, 60_000);
});
