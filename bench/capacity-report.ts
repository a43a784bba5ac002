// The capacity verdict and the printed rows: per level what the relay process itself spent and what it delivered,
// the capacity the pass rule gives, the bare node-datachannel echo beside it, and PASS/MISS against the targets.
import { PROBES_PER_SECOND, type BareLevelFigures, type DirectionFigures, type MachineShare, type RelayLevelFigures } from './capacity-figures.js';

/** The pass rule of a level. */
export const PASS_RULE = { maxLossPct: 0.1, minDeliveredPct: 99.9, maxLagP99Ms: 5 } as const;
/** The targets printed against (a report, not a failure). */
export const TARGETS = { cpuMsPerSessionSecond: 2, rssBytesPerSession: 1024 * 1024, ratioToBare: 1.25 } as const;

/** A relay level as measured, or the error that stopped it (set-up failed, a process died). */
export type RelayLevel = { n: number; figures: RelayLevelFigures } | { n: number; error: string };
export type BareLevel = { n: number; figures: BareLevelFigures } | { n: number; error: string };

/** Below this share of its schedule a sender fell behind, and the relay's CPU per session-second no longer prices the level's load. */
const MIN_SCHEDULE_PCT = 99;

/** What a direction's sender sent, as a share of its 100/s schedule over the span. */
const schedulePct = (f: RelayLevelFigures, d: DirectionFigures) => (100 * d.sent) / (f.sessions * f.spanSeconds * PROBES_PER_SECOND);
/** The relay carried the level's whole load: both senders kept their schedule and nothing was lost. */
const relayCarried = (f: RelayLevelFigures) => [f.c2s, f.s2c].every((d) => schedulePct(f, d) >= MIN_SCHEDULE_PCT && d.lossPct < PASS_RULE.maxLossPct);
/** A bare level that lost probes (its loop starved, its ticks skipped) did less work than the relay's: no fair reference. */
const bareCarried = (f: BareLevelFigures) => f.c2sLossPct < PASS_RULE.maxLossPct && f.s2cLossPct < PASS_RULE.maxLossPct;
const deliveredPct = (d: DirectionFigures) => (d.sent > 0 ? (d.received / d.sent) * 100 : 0);

/** Why a level does not pass the rule; empty when it passes. */
export function levelFailures(level: RelayLevel): string[] {
  if ('error' in level) return [`did not run: ${level.error}`];
  const f = level.figures;
  const out: string[] = [];
  for (const [name, d] of [['c2s', f.c2s], ['s2c', f.s2c]] as const) {
    if (!(d.lossPct < PASS_RULE.maxLossPct)) out.push(`${name} loss ${d.lossPct.toFixed(3)} % ≥ ${PASS_RULE.maxLossPct} %`);
    if (!(deliveredPct(d) >= PASS_RULE.minDeliveredPct)) out.push(`${name} delivered ${deliveredPct(d).toFixed(3)} % < ${PASS_RULE.minDeliveredPct} % of sent`);
  }
  if (!(f.lagP99Ms < PASS_RULE.maxLagP99Ms)) out.push(`event-loop lag p99 ${f.lagP99Ms.toFixed(2)} ms ≥ ${PASS_RULE.maxLagP99Ms} ms`);
  if (f.streaming[0] < level.n || f.streaming[1] < level.n) out.push(`only ${Math.min(...f.streaming)} of ${level.n} sessions streaming`);
  return out;
}

/** The capacity line: the highest level that passed with every level below it; a lower bound when none failed. */
export function capacityVerdict(levels: readonly RelayLevel[]): string {
  let passed: number | null = null;
  for (const level of levels) {
    const failures = levelFailures(level);
    if (failures.length > 0) {
      const at = passed === null ? `below ${level.n} sessions (the lowest level tried failed)` : `${passed} sessions`;
      return `${at}; ${level.n} failed: ${failures.join('; ')}`;
    }
    passed = level.n;
  }
  return passed === null ? 'no level ran' : `every level passed: capacity ≥ ${passed} sessions (a lower bound)`;
}

const ms = (v: number | null, digits = 3) => (v === null ? 'n/a' : v.toFixed(digits));
const kib = (bytes: number) => `${(bytes / 1024).toFixed(0)} KiB`;
const pct = (v: number) => `${v.toFixed(3)} %`;
const passMiss = (ok: boolean) => (ok ? 'PASS' : 'MISS');
const machineRow = (m: MachineShare) => `${m.busyPct.toFixed(0)} % of ${m.cores} cores (every process on the machine) / ${m.clientCores.toFixed(2)} cores`;
/** Why a relay and a bare level are no like-for-like comparison; '' when they are. */
const unlike = (r: RelayLevelFigures, b: BareLevelFigures) =>
  !relayCarried(r) ? ' (not like for like: the relay fell behind, so it did less work)' : !bareCarried(b) ? ' (not like for like: the bare echo lost probes, so it did less work)' : '';
const figuresOf = <T>(l: { figures: T } | { error: string }): T | null => ('figures' in l ? l.figures : null);

/** The rows of one relay level. */
function levelRows(level: RelayLevel): Record<string, string> {
  const at = `${level.n} sessions:`;
  if ('error' in level) return { [`${at} did not run`]: level.error };
  const f = level.figures;
  const delivered = (d: DirectionFigures, total: string) => `${d.received} / ${d.sent} (${pct(deliveredPct(d))}); relay /metrics ${total} ${d.relayTotal}`;
  const failures = levelFailures(level);
  return {
    [`${at} relay CPU ms per session-second`]: `${ms(f.cpuMsPerSessionSecond)}${relayCarried(f) ? '' : ' (understated: the load was not carried in full)'}`,
    [`${at} relay RSS per session, capture taken off`]: `${kib(f.rssBytesPerSession)} (growth over the idle relay ${kib(f.rssBytesPerSession + f.captureBytesPerSession)}, capture held ${kib(f.captureBytesPerSession)})`,
    [`${at} relay event-loop lag p99 ms`]: ms(f.lagP99Ms, 2),
    [`${at} c2s delivered / sent`]: delivered(f.c2s, 'received'),
    [`${at} s2c delivered / sent`]: delivered(f.s2c, 'sent'),
    [`${at} loss c2s / s2c`]: `${pct(f.c2s.lossPct)} / ${pct(f.s2c.lossPct)}`,
    [`${at} relay-added delay-var p99 ms c2s / s2c`]: `${ms(f.c2s.delayP99Ms)} / ${ms(f.s2c.delayP99Ms)}`,
    [`${at} sent ÷ schedule c2s / s2c`]: `${pct(schedulePct(f, f.c2s))} / ${pct(schedulePct(f, f.s2c))}`,
    [`${at} sessions streaming at start / end`]: `${f.streaming[0]} / ${f.streaming[1]}`,
    ...(f.machine ? { [`${at} machine busy / client workers' CPU`]: machineRow(f.machine) } : {}),
    [`${at} verdict`]: failures.length ? `FAIL: ${failures.join('; ')}` : 'pass',
  };
}

/** Every printed row of the capacity bench. */
export function capacityReport(setup: Record<string, string>, relay: readonly RelayLevel[], bare: readonly BareLevel[]): Record<string, string> {
  const out: Record<string, string> = { ...setup };
  for (const level of relay) Object.assign(out, levelRows(level));
  out['capacity'] = capacityVerdict(relay);
  for (const b of bare) {
    const at = `bare ndc echo, ${b.n} sessions:`;
    const f = figuresOf(b);
    if (!f) {
      out[`${at} did not run`] = (b as { error: string }).error;
      continue;
    }
    const r = relay.find((l) => l.n === b.n);
    const rf = r ? figuresOf(r) : null;
    out[`${at} CPU ms per session-second`] = ms(f.cpuMsPerSessionSecond);
    // The same lag rule the relay is held to, read on the bare echo: a level it misses no relay code can pass here.
    if (f.lagP99Ms !== undefined) out[`${at} event-loop lag p99 ms`] = f.lagP99Ms.toFixed(2);
    out[`${at} loss c2s / s2c`] = `${pct(f.c2sLossPct)} / ${pct(f.s2cLossPct)}`;
    if (f.machine) out[`${at} machine busy / client workers' CPU`] = machineRow(f.machine);
    out[`${at} ratio relay ÷ bare CPU`] = !rf ? `n/a (no relay level of ${b.n} ran)` : `${(rf.cpuMsPerSessionSecond / f.cpuMsPerSessionSecond).toFixed(2)}${unlike(rf, f)}`;
  }
  const measured = relay.flatMap((l) => {
    const f = figuresOf(l);
    return f ? [f] : [];
  });
  out[`target: ≤ ${TARGETS.cpuMsPerSessionSecond} ms relay CPU per session-second (≥ 500 sessions per core)`] =
    measured
      .map((f) => `${f.sessions}: ${relayCarried(f) ? passMiss(f.cpuMsPerSessionSecond <= TARGETS.cpuMsPerSessionSecond) : 'n/a, the relay fell behind'} (${ms(f.cpuMsPerSessionSecond)})`)
      .join(' · ') || 'n/a';
  out['target: ≤ 1 MiB relay RSS per session without capture'] =
    measured.map((f) => `${f.sessions}: ${passMiss(f.rssBytesPerSession <= TARGETS.rssBytesPerSession)} (${kib(f.rssBytesPerSession)})`).join(' · ') || 'n/a';
  out[`target: relay ÷ bare CPU ≤ ${TARGETS.ratioToBare}`] =
    bare
      .flatMap((b) => {
        const f = figuresOf(b);
        const r = relay.find((l) => l.n === b.n);
        const rf = r ? figuresOf(r) : null;
        if (!f || !rf) return [`${b.n}: n/a`];
        const ratio = rf.cpuMsPerSessionSecond / f.cpuMsPerSessionSecond;
        if (unlike(rf, f)) return [`${b.n}: n/a${unlike(rf, f)}`];
        return [`${b.n}: ${passMiss(ratio <= TARGETS.ratioToBare)} (${ratio.toFixed(2)})`];
      })
      .join(' · ') || 'n/a';
  return out;
}

/** The rows of a climb with `processes` relay processes (sessions split evenly, their figures summed), named apart from the one-process rows. */
export function processesReport(processes: number, relay: readonly RelayLevel[]): Record<string, string> {
  const at = `${processes} relay processes,`;
  const out: Record<string, string> = {};
  for (const level of relay) for (const [k, v] of Object.entries(levelRows(level))) out[`${at} ${k}`] = v;
  out[`capacity, ${processes} relay processes`] = capacityVerdict(relay);
  return out;
}
