// Runs the README's `npm start` on free ports and a temp data dir, for tests that need the system exactly as a user starts it.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { eventually, freeUdpPort } from './system.js';

const ROOT = resolve(import.meta.dirname, '../..');

export interface LocalSystem {
  /** The edge, as printed by npm start. */
  url: string;
  /** The local libSQL server (Hrana over HTTP). */
  dbUrl: string;
  /** Its bearer token, as npm start keeps it in the data dir. */
  dbAuthToken: string;
  dataDir: string;
  ports: { db: number; relay: number; edge: number; udp: number };
  /** Everything npm start printed so far. */
  output(): string;
  /** Ctrl-C, as a terminal sends it to the foreground group; resolves once every port is free again. */
  stop(): Promise<void>;
}

/** A TCP port nothing listens on right now. */
export async function freeTcpPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const { port } = srv.address() as { port: number };
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

/** Whether a TCP port on loopback can be listened on. */
export async function portIsFree(port: number): Promise<boolean> {
  const srv = createServer();
  return new Promise((done) => {
    srv.once('error', () => done(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => done(true)));
  });
}

/** Starts `npm start` and resolves once it printed the URL to open. */
export async function startLocalSystem(): Promise<LocalSystem> {
  const dataDir = mkdtempSync(join(tmpdir(), 'netpoke-start-'));
  const ports = { db: await freeTcpPort(), relay: await freeTcpPort(), edge: await freeTcpPort(), udp: await freeUdpPort() };
  const child: ChildProcess = spawn('npm', ['start'], {
    cwd: ROOT,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      NETPOKE_DATA_DIR: dataDir,
      NETPOKE_DB_PORT: String(ports.db),
      RELAY_PORT: String(ports.relay),
      RELAY_UDP_PORT: String(ports.udp),
      NETPOKE_EDGE_PORT: String(ports.edge),
      RELAY_LOG_LEVEL: 'warn',
    },
  });
  let output = '';
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const killGroup = () => {
    try {
      if (child.pid) process.kill(-child.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  };
  try {
    const url = await new Promise<string>((resolveUrl, reject) => {
      child.stdout!.on('data', (d: Buffer) => {
        output += d.toString();
        const m = /open\s+(http:\/\/127\.0\.0\.1:\d+)\/\?key=demo/.exec(output);
        if (m) resolveUrl(m[1]!);
      });
      child.once('exit', (code) => reject(new Error(`npm start exited (${code}) before printing the URL:\n${output}`)));
    });
    return {
      url,
      dbUrl: `http://127.0.0.1:${ports.db}`,
      dbAuthToken: readFileSync(join(dataDir, 'db-token'), 'utf8').trim(),
      dataDir,
      ports,
      output: () => output,
      async stop() {
        if (child.exitCode === null && child.signalCode === null) {
          const exited = new Promise<void>((r) => child.once('exit', () => r()));
          process.kill(-child.pid!, 'SIGINT');
          await exited;
        }
        // wrangler and workerd run in a group of their own, which npm start stops.
        await eventually(async () => (await Promise.all([ports.edge, ports.db, ports.relay].map(portIsFree))).every(Boolean), 20_000);
        rmSync(dataDir, { recursive: true, force: true });
      },
    };
  } catch (e) {
    killGroup();
    rmSync(dataDir, { recursive: true, force: true });
    throw e;
  }
}
