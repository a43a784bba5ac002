// A pass-through in front of the test database's HTTP endpoint that can hold back one answer: races between
// two requests of the edge are then played in a chosen order instead of hoped for.
import { createServer, type IncomingMessage } from 'node:http';

export interface HeldAnswers {
  /** Resolves once `count` matching requests have been answered by the database and their answers are being held. */
  held: Promise<void>;
  /** Lets the held answers go to the edge. */
  release(): void;
}

export interface DbProxy {
  /** The URL to give the edge as LIBSQL_URL. */
  url: string;
  /**
   * Holds back the database's answers to the next `count` requests whose body
   * `matches` (their statements have run): a chosen interleaving, or with a
   * count above one a barrier that every one of them reaches before any goes on.
   */
  holdAnswers(matches: (body: string) => boolean, count?: number): HeldAnswers;
  close(): Promise<void>;
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of req) parts.push(part as Buffer);
  return Buffer.concat(parts);
}

/** Starts the proxy on a free loopback port, forwarding to `upstream` (TestDb.url). */
export async function startDbProxy(upstream: string): Promise<DbProxy> {
  let armed: { matches: (body: string) => boolean; left: number; onHeld: () => void; released: Promise<void> } | null = null;
  const server = createServer((req, res) => {
    void (async () => {
      const body = await readBody(req);
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(req.headers)) if (typeof value === 'string' && name !== 'host' && name !== 'content-length') headers[name] = value;
      const answer = await fetch(`${upstream}${req.url ?? '/'}`, { method: req.method, headers, ...(body.length ? { body: new Uint8Array(body) } : {}) });
      const bytes = Buffer.from(await answer.arrayBuffer());
      const hold = armed && armed.matches(body.toString('utf8')) ? armed : null;
      if (hold) {
        if (--hold.left === 0) {
          armed = null;
          hold.onHeld();
        }
        await hold.released;
      }
      res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/json' });
      res.end(bytes);
    })().catch(() => {
      res.writeHead(502);
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    holdAnswers(matches, count = 1) {
      let onHeld!: () => void;
      let release!: () => void;
      const held = new Promise<void>((r) => (onHeld = r));
      const released = new Promise<void>((r) => (release = r));
      armed = { matches, left: count, onHeld, released };
      return { held, release };
    },
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}
