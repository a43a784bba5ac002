import type { Db } from '../shared/db/client.js';
import { raiseSurveyMeasured, selectSurveyMeasured } from '../shared/db/surveys.js';
import { withDeadline } from './deadline.js';
import type { Logger } from './log.js';
import type { MetricWriter } from './metric-writer.js';
import { measuredSoFar, type Session } from './session.js';

/**
 * A survey's measuring time over all its connections and reconnects: the key's
 * limit is per survey, so a client that reconnects gets only what is left.
 * Connections write the survey's total as they know it once a second (with
 * their metric rows, see reportSecond) and when they close.
 */
export interface SurveyClock {
  /** Measuring time the survey has used so far as this relay knows it (its live connections and its recently closed ones), without waiting. */
  known(surveyId: string): number;
  /** The same, and what the database knows (other relays' connections, and this one's from before a restart). */
  used(surveyId: string): Promise<number>;
  /** Records the total of a connection that closed: queued for the next batched write, and kept here until that write has surely landed. */
  closed(s: Session): void;
}

/** How long a closed connection's total is kept in memory: far longer than a batched write takes. */
const REMEMBER_MS = 60_000;
/** A read slower than this is given up (the database is in trouble); what the relay knows itself is used. */
const READ_TIMEOUT_MS = 1_000;

/** The clock of the surveys on one relay. */
export function createSurveyClock(db: Db, writer: MetricWriter, log: Logger, live: () => Iterable<Session>): SurveyClock {
  // A reconnect usually comes back before the closed connection's last write has left in a batch.
  const recent = new Map<string, { ms: number; at: number }>();
  const forgetOld = (now: number) => {
    for (const [id, r] of recent) if (now - r.at > REMEMBER_MS) recent.delete(id);
  };
  let failing = false;
  const known = (surveyId: string) => {
    forgetOld(Date.now());
    let ms = recent.get(surveyId)?.ms ?? 0;
    for (const s of live()) if (s.surveyId === surveyId) ms = Math.max(ms, measuredSoFar(s));
    return ms;
  };
  return {
    known,
    async used(surveyId) {
      let ms = known(surveyId);
      try {
        const rs = await withDeadline(db.execute(selectSurveyMeasured(surveyId)), READ_TIMEOUT_MS, new Error(`no answer in ${READ_TIMEOUT_MS} ms`));
        ms = Math.max(ms, Number(rs.rows[0]?.measured_ms ?? 0));
        failing = false;
      } catch (e) {
        if (!failing) log('warn', 'reading a survey’s measuring time failed; going by what this relay knows', { error: String((e as Error).message ?? e) });
        failing = true;
      }
      return ms;
    },
    closed(s) {
      if (s.surveyId === null) return;
      const now = Date.now();
      forgetOld(now);
      const ms = Math.max(measuredSoFar(s, now), recent.get(s.surveyId)?.ms ?? 0);
      recent.set(s.surveyId, { ms, at: now });
      writer.enqueue({ stmt: raiseSurveyMeasured(s.surveyId, ms) });
    },
  };
}
