// Relay capacity on this machine: survey sessions at rising levels against a relay in its own process, clients in
// worker processes, the relay's own CPU, RSS and event-loop lag read from its /metrics at the ends of a steady span,
// delivered held against sent both ways; beside it, the same probing through a bare node-datachannel echo.
import { z } from 'zod';
import { startTestDb } from '../test/helpers/system.js';
import { measureBareLevel, measureRelayLevel, SESSIONS_PER_WORKER, type LevelTiming } from './capacity-level.js';
import { capacityReport, levelFailures, PASS_RULE, processesReport, type BareLevel, type RelayLevel } from './capacity-report.js';

export interface CapacityOptions extends LevelTiming {
  /** Sessions per relay level, rising; climbing stops at the first level that fails. */
  levels: number[];
  /** Levels at which the bare echo runs too; null: the lowest and the highest relay level that ran. */
  bareLevels: number[] | null;
}

const LevelList = z
  .string()
  .regex(/^\d+(,\d+)*$/, 'comma-separated session counts')
  .transform((s) => s.split(',').map(Number))
  .pipe(z.array(z.number().int().min(1).max(1000)));

const EnvSchema = z.object({
  CAPACITY_SECONDS: z.coerce.number().positive().max(600).default(30),
  CAPACITY_LEVELS: LevelList.default([25, 50, 100, 200]),
  CAPACITY_BARE_LEVELS: LevelList.optional(),
});

/**
 * Options from CAPACITY_SECONDS (default 30), CAPACITY_LEVELS (default
 * "25,50,100,200") and CAPACITY_BARE_LEVELS (default: the lowest and the
 * highest relay level that ran, so the ratio always has its relay figure).
 */
export function capacityOptionsFromEnv(env: Record<string, string | undefined> = process.env): CapacityOptions {
  const e = EnvSchema.parse({
    CAPACITY_SECONDS: env.CAPACITY_SECONDS || undefined,
    CAPACITY_LEVELS: env.CAPACITY_LEVELS || undefined,
    CAPACITY_BARE_LEVELS: env.CAPACITY_BARE_LEVELS || undefined,
  });
  return { levels: [...e.CAPACITY_LEVELS].sort((a, b) => a - b), bareLevels: e.CAPACITY_BARE_LEVELS ?? null, seconds: e.CAPACITY_SECONDS, settleMs: 3_000 };
}

/** Relay processes per climb: one, then one per core of a two-core machine (README, Deployment: one relay process per core). */
const RELAY_PROCESSES = [1, 2] as const;

const started = Date.now();
function progress(text: string) {
  if (process.stderr.isTTY) process.stderr.write(`  … ${((Date.now() - started) / 1000).toFixed(0)} s: ${text}\n`);
}

const message = (e: unknown) => String((e as Error)?.message ?? e);

/** Runs the relay levels (stopping at the first that fails the pass rule) and the bare levels; returns the printed rows. */
export async function benchRelay(opts: CapacityOptions = capacityOptionsFromEnv()): Promise<Record<string, number | string>> {
  const t0 = Date.now();
  // The same climb with one relay process, then with two (one per core), the sessions split evenly over them.
  const climbs: RelayLevel[][] = [];
  const db = await startTestDb();
  try {
    for (const processes of RELAY_PROCESSES) {
      const climb: RelayLevel[] = [];
      for (const n of opts.levels) {
        progress(`${processes} relay process${processes > 1 ? 'es' : ''}, ${n} sessions`);
        const level: RelayLevel = await measureRelayLevel(db, n, opts, processes).then(
          (figures) => ({ n, figures }),
          (e: unknown) => ({ n, error: message(e) }),
        );
        climb.push(level);
        if (levelFailures(level).length > 0) break;
      }
      climbs.push(climb);
    }
  } finally {
    await db.close();
  }
  const [relay = [], ...more] = climbs;
  const ran = relay.flatMap((l) => ('figures' in l ? [l.n] : []));
  const bareLevels = opts.bareLevels ?? [...new Set([ran[0], ran.at(-1)].filter((n) => n !== undefined))];
  const bare: BareLevel[] = [];
  for (const n of bareLevels) {
    progress(`bare node-datachannel echo, ${n} sessions`);
    bare.push(await measureBareLevel(n, opts).then((figures) => ({ n, figures }), (e: unknown) => ({ n, error: message(e) })));
  }
  const rows = capacityReport(
    {
      'set-up': `loopback; per level fresh relay processes (relay/main.ts, each its own RELAY_ID and ports, one database, capture on): ${RELAY_PROCESSES.join(' then ')}, the sessions split evenly over them, and ${opts.seconds} s steady after set-up + ${opts.settleMs / 1000} s; clients (startSurvey, polyfill) in worker processes of ≤ ${SESSIONS_PER_WORKER} sessions on the same cores; 100 probes/s each way per session`,
      'how it is read': `the relay's CPU, RSS and lag from its own /metrics (ops port), scraped only at the span's two ends; delivered ÷ sent per session at those instants, each sender's own count (client probe sends, relay sender_report) against the receiver's windows (relay c2s, client s2c), stamped where counted, within their 1 s reports; loss by counts`,
      'pass rule': `loss < ${PASS_RULE.maxLossPct} % both ways, delivered ≥ ${PASS_RULE.minDeliveredPct} % of sent both ways, relay event-loop lag p99 < ${PASS_RULE.maxLagP99Ms} ms, every session streaming; climbing stops at the first level that fails`,
      'bench time': `${((Date.now() - t0) / 1000).toFixed(0)} s`,
    },
    relay,
    bare,
  );
  for (const [i, climb] of more.entries()) Object.assign(rows, processesReport(RELAY_PROCESSES[i + 1]!, climb));
  return rows;
}
