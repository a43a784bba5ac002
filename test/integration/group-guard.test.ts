// local/group-guard.ts, which npm start runs wrangler under: the command's whole process group ends when the guard
// is told to stop, when npm start's IPC channel closes, and when the command exits by itself leaving children.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { processesOf } from '../helpers/npm-start.js';
import { eventually } from '../helpers/system.js';

const ROOT = resolve(import.meta.dirname, '../..');
const dirs: string[] = [];

interface Guarded {
  guard: ChildProcess;
  /** The guard's exit code, once it exits. */
  exited: Promise<number | null>;
  /** The process group the guard reported over IPC. */
  group: Promise<number>;
  /** Processes of this run still alive (the guard and its command's group carry the run's marker dir). */
  alive(): number[];
}

/** Starts the guard around `sh -c script`, marked by a fresh NETPOKE_DATA_DIR so its processes can be found. */
function guarded(script: string): Guarded {
  const mark = mkdtempSync(join(tmpdir(), 'netpoke-guard-'));
  dirs.push(mark);
  const guard = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'local/group-guard.ts'), 'sh', '-c', script], {
    cwd: ROOT,
    detached: true,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, NETPOKE_DATA_DIR: mark },
  });
  return {
    guard,
    exited: new Promise((r) => guard.once('exit', (code) => r(code))),
    group: new Promise((r) => guard.once('message', (m: { group: number }) => r(m.group))),
    alive: () => processesOf(mark).map((p) => p.pid),
  };
}

/** Resolves once the group has its `n` processes (the shell and its sleeps) running. */
const groupRunning = (g: Guarded, n: number) => eventually(async () => g.alive().length >= n + 1, 10_000, 50);

afterEach(() => {
  for (const d of dirs.splice(0)) {
    for (const p of processesOf(d)) {
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch {
        // Gone meanwhile.
      }
    }
    rmSync(d, { recursive: true, force: true });
  }
});

describe('group-guard', () => {
  it('reports the group, and on SIGTERM ends all of it, SIGKILLing what ignores SIGTERM after its grace', async () => {
    const g = guarded('trap "" TERM; sleep 300 & sleep 300');
    const group = await g.group;
    await groupRunning(g, 2);
    expect(g.alive()).toContain(group);
    const t0 = performance.now();
    g.guard.kill('SIGTERM');
    // Generous bounds: on a loaded 2-core CI machine the guard's 2 s timer and the exits can run late.
    await eventually(async () => g.alive().length === 0, 15_000, 50);
    // The shell and its sleeps ignore SIGTERM: only the SIGKILL after the 2 s grace ends them (else 300 s).
    expect(performance.now() - t0).toBeGreaterThan(1_900);
    expect(performance.now() - t0).toBeLessThan(14_000);
  }, 30_000);

  it('ends the group when its parent goes (the IPC channel closes)', async () => {
    const g = guarded('sleep 300 & sleep 300');
    await g.group;
    await groupRunning(g, 2);
    g.guard.disconnect();
    await eventually(async () => g.alive().length === 0, 5_000, 50);
    expect(await g.exited).not.toBeNull();
  }, 20_000);

  it('when the command exits by itself, kills what it left and exits with its code', async () => {
    const g = guarded('sleep 300 & sleep 0.5; exit 3');
    await g.group;
    expect(await g.exited).toBe(3);
    await eventually(async () => g.alive().length === 0, 5_000, 50);
  }, 20_000);
});
