// A pass-through in front of the test database's HTTP endpoint. It can hold back one answer (races between
// two requests of the edge are then played in a chosen order instead of hoped for), put the database at a
// distance (a one-way delay on every request and every answer), and count what it forwards, so the edge's
// round trips to the database are measured from outside the edge.
import { createServer, type IncomingMessage } from 'node:http';

export interface HeldAnswers {
  /** Resolves once `count` matching requests have been answered by the database and their answers are being held. */
  held: Promise<void>;
  /** Lets the held answers go to the edge. */
  release(): void;
}

/** What the proxy forwarded while one piece of work ran. */
export interface DbTraffic {
  /** HTTP requests to the database (one Hrana pipeline each). */
  requests: number;
  /**
   * Round trips as the caller waits for them: requests in flight together
   * count once, so a new one is counted only when none was in flight.
   */
  roundTrips: number;
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
  /** Sets the one-way delay added to every request on its way to the database and to every answer on its way back. */
  setDelay(oneWayMs: number): void;
  /** Runs `fn` and reports the traffic forwarded meanwhile (the caller runs nothing else against this proxy during it). */
  measure<T>(fn: () => Promise<T>): Promise<{ value: T; traffic: DbTraffic }>;
  close(): Promise<void>;
}

export interface DbProxyOptions {
  /** One-way delay in milliseconds (0 by default); see setDelay. */
  oneWayMs?: number;
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of req) parts.push(part as Buffer);
  return Buffer.concat(parts);
}

const pause = (ms: number) => (ms > 0 ? new Promise<void>((r) => setTimeout(r, ms)) : Promise.resolve());

/** Starts the proxy on a free loopback port, forwarding to `upstream` (TestDb.url). */
export async function startDbProxy(upstream: string, opts: DbProxyOptions = {}): Promise<DbProxy> {
  let armed: { matches: (body: string) => boolean; left: number; onHeld: () => void; released: Promise<void> } | null = null;
  let oneWayMs = opts.oneWayMs ?? 0;
  const traffic: DbTraffic = { requests: 0, roundTrips: 0 };
  let inFlight = 0;
  const server = createServer((req, res) => {
    traffic.requests++;
    if (inFlight++ === 0) traffic.roundTrips++;
    let landed = false;
    const land = () => {
      if (!landed) inFlight--;
      landed = true;
    };
    void (async () => {
      const body = await readBody(req);
      await pause(oneWayMs);
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
      await pause(oneWayMs);
      // Out of flight before the answer is written: the caller's next request, made on reading it, is a new round trip.
      land();
      res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/json' });
      res.end(bytes);
    })().catch(() => {
      land();
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
    setDelay(ms) {
      oneWayMs = ms;
    },
    async measure(fn) {
      const before = { ...traffic };
      const value = await fn();
      return { value, traffic: { requests: traffic.requests - before.requests, roundTrips: traffic.roundTrips - before.roundTrips } };
    },
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}
