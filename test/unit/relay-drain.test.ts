import { describe, expect, it } from 'vitest';
import { relayConfigFromEnv } from '../../relay/config.js';
import { createDrain } from '../../relay/drain.js';

const quiet = () => undefined;

describe('the drain timeline', () => {
  it('marks the relay draining first, and ends at once when no peer is left', async () => {
    const steps: string[] = [];
    const d = createDrain({ boundMs: 60_000, peers: () => 0, markDraining: async () => void steps.push('marked'), endRemaining: () => steps.push('ended'), log: quiet });
    expect(d.draining).toBe(false);
    const t0 = Date.now();
    await d.start();
    expect(d.draining).toBe(true);
    expect(steps).toEqual(['marked']);
    expect(Date.now() - t0).toBeLessThan(1_000);
  });

  it('waits for the last peer to go, and tells nobody', async () => {
    let peers = 2;
    const ended: number[] = [];
    const d = createDrain({ boundMs: 60_000, peers: () => peers, markDraining: async () => undefined, endRemaining: () => ended.push(peers), log: quiet });
    let done = false;
    const p = d.start().then(() => (done = true));
    // The same drain for every caller.
    expect(d.start()).toBe(d.start());
    await new Promise((r) => setTimeout(r, 50));
    peers = 1;
    d.peerGone();
    await new Promise((r) => setTimeout(r, 50));
    expect(done).toBe(false);
    peers = 0;
    d.peerGone();
    await p;
    expect(ended).toEqual([]);
  });

  it('at the bound, tells the remaining peers, then ends once they are gone', async () => {
    let peers = 1;
    const d = createDrain({
      boundMs: 200,
      peers: () => peers,
      markDraining: async () => undefined,
      endRemaining: () =>
        setTimeout(() => {
          peers = 0;
          d.peerGone();
        }, 100),
      log: quiet,
    });
    const t0 = Date.now();
    await d.start();
    const took = Date.now() - t0;
    expect(took).toBeGreaterThanOrEqual(290);
    expect(took).toBeLessThan(2_000);
  });
});

describe('RELAY_DRAIN_S', () => {
  const env = { NETPOKE_MODE: 'local', RELAY_SHARED_SECRET: 'a-secret-of-at-least-16', LIBSQL_URL: 'http://127.0.0.1:8080' };
  it('defaults to 15 minutes, takes seconds, and names a bad value', () => {
    expect(relayConfigFromEnv(env).drainMs).toBe(900_000);
    expect(relayConfigFromEnv({ ...env, RELAY_DRAIN_S: '30' }).drainMs).toBe(30_000);
    expect(() => relayConfigFromEnv({ ...env, RELAY_DRAIN_S: 'soon' })).toThrow(/RELAY_DRAIN_S/);
    expect(() => relayConfigFromEnv({ ...env, RELAY_DRAIN_S: '-1' })).toThrow(/RELAY_DRAIN_S/);
  });
});
