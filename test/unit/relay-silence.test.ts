// The headless client's watch for a relay gone quiet: seconds of nothing, counted only while its own clock ticks steadily.
import { describe, expect, it } from 'vitest';
import { createSilenceWatch } from '../../cli/relay-silence.js';
import { emptyDirectionStats } from '../../shared/stats/direction-stats.js';
import type { SurveyEvent } from '../../client/survey-client.js';

type StatsEvent = Extract<SurveyEvent, { type: 'stats' }>;

/** A window at `at` ms: quiet (nothing from the relay) or with a relay window and its probes. */
function window(at: number, quiet: boolean, conn = 'c1'): StatsEvent {
  const s2c = { ...emptyDirectionStats(), probe_count: quiet ? 0 : 100 };
  return { type: 'stats', conn_id: conn, timestamp_ms: at, window_index: Math.round(at / 1000), c2s: quiet ? null : emptyDirectionStats(), s2c, own_paused_ms: 0 };
}

describe('relay silence watch', () => {
  it('fires after five quiet seconds in a row, not before', () => {
    const watch = createSilenceWatch(5);
    expect(watch(window(0, false))).toBeNull();
    for (let i = 1; i <= 4; i++) expect(watch(window(i * 1000, true))).toBeNull();
    expect(watch(window(5000, true))).toBe(5);
  });

  it('starts over when anything arrives', () => {
    const watch = createSilenceWatch(5);
    for (let i = 1; i <= 4; i++) watch(window(i * 1000, true));
    expect(watch(window(5000, false))).toBeNull();
    for (let i = 6; i <= 9; i++) expect(watch(window(i * 1000, true))).toBeNull();
    expect(watch(window(10_000, true))).toBe(5);
  });

  it("does not count windows its own stalled ticker fires at once, nor the one right after a stall", () => {
    const watch = createSilenceWatch(5);
    watch(window(0, false));
    // A 6 s stall: the first window comes late, then the missed ones within the same millisecond.
    for (let i = 0; i < 5; i++) expect(watch(window(6000 + i * 0.1, true))).toBeNull();
    // The messages that waited are read next: the relay was there all along.
    expect(watch(window(7000, false))).toBeNull();
  });

  it('keeps connections apart', () => {
    const watch = createSilenceWatch(2);
    watch(window(1000, true, 'a'));
    expect(watch(window(1000, false, 'b'))).toBeNull();
    expect(watch(window(2000, true, 'a'))).toBe(2);
  });

  it('the last window after stop is never counted as silence', () => {
    const watch = createSilenceWatch(1);
    expect(watch({ ...window(1000, true), final: true })).toBeNull();
  });
});
