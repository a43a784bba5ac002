// The harness's handle on a forwarder running in its own process (see forwarder-process.ts).
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ForwarderConfig, ForwarderLog } from './forwarder.js';
import { ForwarderReplySchema, type ForwarderReply, type ForwarderRequest } from './forwarder-messages.js';

export interface ForwarderProcess {
  readonly address: { ip: string; port: number };
  arm(on: boolean): Promise<void>;
  log(): Promise<ForwarderLog>;
  close(): Promise<void>;
}

type Op = ForwarderRequest extends infer R ? (R extends ForwarderRequest ? Omit<R, 'id'> : never) : never;

/** Starts the forwarder in a child process and waits until it listens. */
export async function spawnForwarder(config: ForwarderConfig): Promise<ForwarderProcess> {
  const child = fork(fileURLToPath(new URL('./forwarder-process.ts', import.meta.url)), [], {
    execArgv: ['--import', 'tsx'],
    serialization: 'advanced',
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const pending = new Map<number, { resolve: (r: ForwarderReply) => void; reject: (e: Error) => void }>();
  let nextId = 1;
  let exited: Error | null = null;
  child.on('message', (raw) => {
    const r = ForwarderReplySchema.safeParse(raw);
    if (!r.success) return;
    const p = pending.get(r.data.id);
    if (!p) return;
    pending.delete(r.data.id);
    if (r.data.error) p.reject(new Error(`forwarder: ${r.data.error}`));
    else p.resolve(r.data);
  });
  child.on('exit', (code) => {
    exited = new Error(`forwarder process exited (${code})`);
    for (const p of pending.values()) p.reject(exited);
    pending.clear();
  });
  const call = (op: Op): Promise<ForwarderReply> =>
    new Promise((resolve, reject) => {
      if (exited) return reject(exited);
      const id = nextId++;
      pending.set(id, { resolve, reject });
      child.send({ ...op, id });
    });

  let started: ForwarderReply;
  try {
    started = await call({ op: 'start', config });
  } catch (e) {
    child.kill();
    throw e;
  }
  const port = started.port!;
  return {
    address: { ip: '127.0.0.1', port },
    arm: async (on) => void (await call({ op: 'arm', on })),
    log: async () => (await call({ op: 'log' })).log!,
    async close() {
      if (exited) return;
      const gone = new Promise<void>((r) => child.once('exit', () => r()));
      await call({ op: 'close' }).catch(() => undefined);
      const timer = setTimeout(() => child.kill(), 2_000);
      await gone;
      clearTimeout(timer);
    },
  };
}
