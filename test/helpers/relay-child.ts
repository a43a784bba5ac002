// `relay/main.ts` in a child process, as an operator starts it (signals, exit codes, the log on stderr).
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';

const MAIN = resolve(import.meta.dirname, '../../relay/main.ts');

export interface RelayChild {
  child: ChildProcess;
  /** Every stderr line so far. */
  lines: string[];
  exited: Promise<number | null>;
  /** Resolves with the first line (already seen or to come) matching `re`; rejects if the relay exits first. */
  line(re: RegExp): Promise<string>;
  /** SIGTERM, then waits for the exit. */
  stop(): Promise<void>;
}

/** Starts the relay with only `env` (and PATH) as its environment. */
export function spawnRelay(env: Record<string, string>): RelayChild {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  const lines: string[] = [];
  const waiters = new Set<{ re: RegExp; done: (line: string) => void }>();
  createInterface({ input: child.stderr! }).on('line', (line) => {
    lines.push(line);
    for (const w of waiters) if (w.re.test(line)) w.done(line);
  });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return {
    child,
    lines,
    exited,
    line: (re) =>
      new Promise<string>((done, fail) => {
        const seen = lines.find((l) => re.test(l));
        if (seen !== undefined) return done(seen);
        const w = { re, done: (l: string) => (waiters.delete(w), done(l)) };
        waiters.add(w);
        void exited.then((code) => fail(new Error(`the relay exited (${code}) before logging ${re}:\n${lines.join('\n')}`)));
      }),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/** The `relay started` line's fields (api, udp_port, tls_cert…). */
export async function started(relay: RelayChild): Promise<{ api: string; tls_cert?: { fingerprint256: string } }> {
  const line = await relay.line(/relay INFO relay started \{/);
  return JSON.parse(line.slice(line.indexOf('{'))) as { api: string; tls_cert?: { fingerprint256: string } };
}
