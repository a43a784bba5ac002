// Request/reply over a forked TypeScript child's IPC channel: the harness runs the forwarder and the client in processes of their own.
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as z from 'zod';

const ReplySchema = z.union([z.object({ id: z.number(), ok: z.literal(true), body: z.unknown() }), z.object({ id: z.number(), ok: z.literal(false), error: z.string() })]);
const RequestSchema = z.object({ id: z.number(), body: z.unknown() });

export interface ChildProcessHandle {
  /** Sends one request and waits for its reply body (rejects with the child's error, or if it exits). */
  call(body: unknown): Promise<unknown>;
  /** Waits up to `graceMs` for the child to exit by itself, then kills it. */
  exited(graceMs: number): Promise<void>;
  kill(): void;
}

/** Forks `module` (a .ts file, run with tsx) with an IPC channel. */
export function forkTs(module: URL): ChildProcessHandle {
  const child = fork(fileURLToPath(module), [], { execArgv: ['--import', 'tsx'], serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let nextId = 1;
  let gone: Error | null = null;
  const exit = new Promise<void>((resolve) =>
    child.once('exit', (code, signal) => {
      gone = new Error(`${module.pathname.split('/').pop()} exited (${code ?? signal})`);
      for (const p of pending.values()) p.reject(gone);
      pending.clear();
      resolve();
    }),
  );
  child.on('message', (raw) => {
    const r = ReplySchema.safeParse(raw);
    if (!r.success) return;
    const p = pending.get(r.data.id);
    if (!p) return;
    pending.delete(r.data.id);
    if (r.data.ok) p.resolve(r.data.body);
    else p.reject(new Error(r.data.error));
  });
  return {
    call: (body) =>
      new Promise((resolve, reject) => {
        if (gone) return reject(gone);
        const id = nextId++;
        pending.set(id, { resolve, reject });
        child.send({ id, body });
      }),
    async exited(graceMs) {
      const timer = setTimeout(() => child.kill(), graceMs);
      await exit;
      clearTimeout(timer);
    },
    kill: () => void child.kill(),
  };
}

/** In the child: answers each request with `handle`'s result, or its error in words; exits when the parent goes away. */
export function serveRequests(handle: (body: unknown) => Promise<unknown>, onParentGone: () => Promise<void>): void {
  process.on('message', (raw) => {
    const req = RequestSchema.safeParse(raw);
    if (!req.success) return;
    const { id, body } = req.data;
    handle(body).then(
      (result) => process.send?.({ id, ok: true, body: result }),
      (e: unknown) => process.send?.({ id, ok: false, error: String((e as Error)?.message ?? e) }),
    );
  });
  process.on('disconnect', () => void onParentGone().finally(() => process.exit(0)));
}
