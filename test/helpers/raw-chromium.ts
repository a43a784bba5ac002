// Debian's Chromium driven over its own DevTools protocol, without Playwright: Playwright keeps every page
// "visible" (focus emulation), so a test of what a hidden tab does needs tabs switched the way a person does.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { CHROMIUM, CHROMIUM_ARGS } from './chromium-args.js';
import { freeTcpPort } from './npm-start.js';
import { eventually } from './system.js';

export interface RawTab {
  id: string;
  /** Evaluates an expression in the tab and returns its JSON value. */
  evaluate<T>(expression: string): Promise<T>;
  /** Brings the tab to the front (the others become hidden). */
  activate(): Promise<void>;
  close(): void;
}

export interface RawChromium {
  open(url: string): Promise<RawTab>;
  stop(): Promise<void>;
}

/** Starts headless Chromium with remote debugging on a free loopback port. */
export async function startRawChromium(): Promise<RawChromium> {
  const port = await freeTcpPort();
  const profile = mkdtempSync(join(tmpdir(), 'netpoke-chromium-'));
  const proc: ChildProcess = spawn(
    CHROMIUM,
    [
      ...CHROMIUM_ARGS,
      `--user-data-dir=${profile}`,
      `--remote-debugging-port=${port}`,
      '--remote-debugging-address=127.0.0.1',
      'about:blank',
    ],
    // Its own process group, so stop() takes the renderers and helpers down with it.
    { stdio: 'ignore', detached: true },
  );
  const base = `http://127.0.0.1:${port}/json`;
  await eventually(async () => (await fetch(`${base}/version`).catch(() => null))?.ok, 15_000);
  const sockets: WebSocket[] = [];
  return {
    async open(url) {
      const target = (await (await fetch(`${base}/new?${url}`, { method: 'PUT' })).json()) as { id: string; webSocketDebuggerUrl: string };
      const ws = new WebSocket(target.webSocketDebuggerUrl);
      sockets.push(ws);
      await new Promise<void>((resolve, reject) => {
        ws.once('open', () => resolve());
        ws.once('error', reject);
      });
      let next = 1;
      const pending = new Map<number, (v: unknown) => void>();
      ws.on('message', (data) => {
        const msg = JSON.parse(String(data)) as { id?: number; result?: unknown };
        if (msg.id !== undefined) pending.get(msg.id)?.(msg.result);
      });
      const call = (method: string, params: object) =>
        new Promise<unknown>((resolve) => {
          const id = next++;
          pending.set(id, resolve);
          ws.send(JSON.stringify({ id, method, params }));
        });
      return {
        id: target.id,
        async evaluate<T>(expression: string) {
          const r = (await call('Runtime.evaluate', { expression, returnByValue: true, awaitPromise: true })) as { result?: { value?: unknown }; exceptionDetails?: unknown };
          if (r.exceptionDetails) throw new Error(`evaluate failed: ${JSON.stringify(r.exceptionDetails).slice(0, 500)}`);
          return r.result?.value as T;
        },
        async activate() {
          await fetch(`${base}/activate/${target.id}`);
        },
        close: () => ws.close(),
      };
    },
    async stop() {
      for (const ws of sockets) ws.close();
      const exited = new Promise((r) => (proc.exitCode !== null || proc.signalCode !== null ? r(null) : proc.once('exit', r)));
      try {
        process.kill(-proc.pid!, 'SIGTERM');
      } catch {
        proc.kill('SIGTERM');
      }
      await exited;
      try {
        process.kill(-proc.pid!, 'SIGKILL');
      } catch {
        // The group is gone.
      }
      // A helper process may still be flushing the profile for a moment: retry, and never fail a test over a temp dir.
      try {
        rmSync(profile, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
      } catch {
        // Left in the temp dir.
      }
    },
  };
}
