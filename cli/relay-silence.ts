import type { SurveyEvent } from '../client/survey-client.js';

type StatsEvent = Extract<SurveyEvent, { type: 'stats' }>;

/** Seconds without anything from the relay (no probe, no stats window) after which the connection counts as dropped. */
export const RELAY_SILENCE_S = 5;

/**
 * Watches a survey's per-second windows for a relay that went quiet: fed every
 * stats event, it returns the seconds of silence once a connection has had
 * `limitS` of them in a row, else null. A live relay sends 100 probes and one
 * stats window a second, so a window with neither means nothing came. Only
 * windows about a second apart count: after this process stalls, its ticker
 * fires the missed windows at once, before the messages that waited are read.
 */
export function createSilenceWatch(limitS = RELAY_SILENCE_S): (e: StatsEvent) => number | null {
  const silentFor = new Map<string, number>();
  const lastWindowAt = new Map<string, number>();
  return (e) => {
    const last = lastWindowAt.get(e.conn_id);
    lastWindowAt.set(e.conn_id, e.timestamp_ms);
    const gap = last === undefined ? 1_000 : e.timestamp_ms - last;
    const steady = gap >= 500 && gap <= 2_000;
    const quiet = e.c2s === null && e.s2c.probe_count === 0 && !e.final;
    const silent = quiet ? (silentFor.get(e.conn_id) ?? 0) + (steady ? 1 : 0) : 0;
    silentFor.set(e.conn_id, silent);
    return silent >= limitS ? silent : null;
  };
}
