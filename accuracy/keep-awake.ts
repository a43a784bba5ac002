// Holds every CPU out of idle while the harness measures, with busy processes at the lowest scheduling priority.
import { execFile } from 'node:child_process';
import { availableParallelism, setPriority } from 'node:os';
import { promisify } from 'node:util';
import { forkTs, type ChildProcessHandle } from './ipc.js';

export interface KeepAwake {
  /** How the spinners were scheduled, for the report. */
  readonly how: string;
  readonly pids: readonly number[];
  stop(): Promise<void>;
}

/**
 * On a virtual machine an idle vCPU halts, and waking it for a datagram
 * costs about 0.1 ms per hop here (loopback UDP ping-pong at the probes'
 * 10 ms cadence: 0.2–0.35 ms idle, 0.06–0.07 ms with the CPUs held busy).
 * The path through the forwarder has four such hops the forwarder cannot
 * log, so its truth would miss them: a property of the machine, not of the
 * network or of NetPoke. Spinners under SCHED_IDLE (nice 19 where `chrt` is
 * missing) take only time nothing else wants, so every real process still
 * runs first, and only the idle exits go away.
 */
export async function keepCpusAwake(): Promise<KeepAwake> {
  const spinners: { child: ChildProcessHandle; pid: number }[] = [];
  for (let i = 0; i < availableParallelism(); i++) {
    const child = forkTs(new URL('./spinner-process.ts', import.meta.url));
    spinners.push({ child, pid: child.pid });
  }
  let policy = 'SCHED_IDLE';
  for (const s of spinners) {
    try {
      setPriority(s.pid, 19);
    } catch {
      // Lowering a child's priority is always allowed; a failure here only means it already exited.
    }
    try {
      await promisify(execFile)('chrt', ['--idle', '--pid', '0', String(s.pid)]);
    } catch {
      policy = 'nice 19 (no chrt)';
    }
  }
  return {
    how: `${spinners.length} spinner(s) at ${policy}`,
    pids: spinners.map((s) => s.pid),
    async stop() {
      await Promise.all(
        spinners.map(async (s) => {
          s.child.kill();
          await s.child.exited(2_000);
        }),
      );
    },
  };
}
