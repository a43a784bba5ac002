// The edge's memory as the OS sees it: the resident size of the workerd process Miniflare runs (Linux /proc).
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';

/** Fields of /proc/<pid>/stat after the command name: [state, ppid, ...]; starttime is the 22nd field overall. */
function statFields(pid: number): string[] | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null; // gone meanwhile
  }
}

/** The workerd process this process started last (startTestEdge's Miniflare spawns it as a direct child). */
export function findWorkerdPid(parent = process.pid): number {
  let best: { pid: number; start: number } | null = null;
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid)) continue;
    const f = statFields(pid);
    if (!f || Number(f[1]) !== parent) continue;
    let cmd = '';
    try {
      cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    } catch {
      continue;
    }
    if (!cmd.includes('workerd')) continue;
    const start = Number(f[19]);
    if (!best || start > best.start) best = { pid, start };
  }
  if (!best) throw new Error(`no workerd child of process ${parent}`);
  return best.pid;
}

/** VmRSS and VmHWM (peak resident size) of a process, in bytes. */
export function readMemory(pid: number): { rss: number; hwm: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}

/** Resets the kernel's peak-RSS mark (clear_refs 5), so VmHWM then covers only what follows; false if not allowed here. */
function resetPeak(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return readMemory(pid).hwm <= readMemory(pid).rss + 4096 * 1024;
  } catch {
    return false;
  }
}

export interface MemoryReport {
  /** Resident size when watching began, bytes. */
  startRss: number;
  /** Highest resident size seen: the kernel's peak mark when it could be reset, else the highest sample. */
  peakRss: number;
  /** Highest of the periodic samples alone. */
  sampledPeakRss: number;
  samples: number;
  /** Whether peakRss comes from the kernel's reset peak mark (exact) or from samples only. */
  kernelPeak: boolean;
}

/** Watches a process's resident size every `everyMs` while `fn` runs; returns fn's result and the memory seen. */
export async function watchMemory<T>(pid: number, fn: () => Promise<T>, everyMs = 20): Promise<{ result: T; memory: MemoryReport }> {
  const kernelPeak = resetPeak(pid);
  const startRss = readMemory(pid).rss;
  let sampledPeakRss = startRss;
  let samples = 0;
  const timer = setInterval(() => {
    sampledPeakRss = Math.max(sampledPeakRss, readMemory(pid).rss);
    samples++;
  }, everyMs);
  try {
    const result = await fn();
    const end = readMemory(pid);
    sampledPeakRss = Math.max(sampledPeakRss, end.rss);
    return { result, memory: { startRss, peakRss: kernelPeak ? Math.max(end.hwm, sampledPeakRss) : sampledPeakRss, sampledPeakRss, samples, kernelPeak } };
  } finally {
    clearInterval(timer);
  }
}
