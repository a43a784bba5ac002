// What each side of a noise path costs per probe: the CPU a process spent over the steady window divided by the
// probes its sessions received in it (each also sent about one), so the headless client's own cost stands beside
// the relay's and bare node-datachannel's, measured in the same run.
import { readFileSync } from 'node:fs';

/** A process's running totals at one moment: CPU time (µs) and probes its sessions have received. */
export interface Usage {
  at: number;
  cpuUs: number;
  probes: number;
}

/**
 * CPU µs per probe over [from, to] for a group of processes, each with its own series of running totals: for each,
 * from its first record at or after `from` to its last at or before `to`. Null without probes in that span.
 */
export function cpuPerProbe(series: readonly (readonly Usage[])[], from: number, to: number): number | null {
  const t = spanTotals(series, from, to);
  return t.probes > 0 ? t.cpuUs / t.probes : null;
}

/** CPU µs and probes a group of processes added over [from, to] (each from its first record in the span to its last). */
export function spanTotals(series: readonly (readonly Usage[])[], from: number, to: number): { cpuUs: number; probes: number } {
  let cpuUs = 0;
  let probes = 0;
  for (const s of series) {
    const first = s.find((u) => u.at >= from);
    const last = lastAtOrBefore(s, to);
    if (!first || !last || last.at <= first.at) continue;
    cpuUs += last.cpuUs - first.cpuUs;
    probes += last.probes - first.probes;
  }
  return { cpuUs, probes };
}

/** Linux's clock ticks per second for /proc times (USER_HZ, 100 on every mainstream architecture). */
const USER_HZ = 100;

/** Total CPU (user + system, µs) of process `pid` from /proc; null where /proc is not there. */
export function processCpuUs(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start at its closing parenthesis: utime, stime are 14, 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1e6) / USER_HZ;
  } catch {
    return null;
  }
}

function lastAtOrBefore(s: readonly Usage[], to: number): Usage | undefined {
  for (let k = s.length - 1; k >= 0; k--) if (s[k]!.at <= to) return s[k];
  return undefined;
}
