// The real `npm run probe` CLI as a child process, for tests of what it prints and how it exits.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface ProbeRun {
  /** Resolves once the CLI has printed its first per-second row (it is measuring). */
  measuring: Promise<void>;
  exited: Promise<{ code: number | null; stdout: string; stderr: string }>;
  kill(): void;
}

/** Runs `cli/probe.ts` against an edge with a magic key for `duration`, as `npm run probe` does. */
export function runProbeCli(edgeUrl: string, key: string, duration = '20s'): ProbeRun {
  const child = spawn(process.execPath, ['--import', 'tsx', 'cli/probe.ts', '--url', edgeUrl, '--key', key, '--duration', duration], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let onRow: () => void = () => {};
  const measuring = new Promise<void>((resolve) => (onRow = resolve));
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
    if (/^\d+\s+s2c /m.test(stdout)) onRow();
  });
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => child.once('exit', (code) => resolve({ code, stdout, stderr })));
  return { measuring, exited, kill: () => child.kill('SIGKILL') };
}

/** Waits for `p`, failing with what the CLI printed if it takes longer than `ms`. */
export async function within<T>(ms: number, p: Promise<T>, run: ProbeRun, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} not within ${ms} ms`)), ms)));
  try {
    return await Promise.race([p, late]);
  } catch (e) {
    run.kill();
    const out = await run.exited;
    throw new Error(`${(e as Error).message}\nstdout:\n${out.stdout}\nstderr:\n${out.stderr}`);
  } finally {
    clearTimeout(timer);
  }
}
