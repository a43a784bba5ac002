// Runs the README's `npm start` on free ports and a temp data dir, for tests that need the system exactly as a user starts it.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { eventually, freeUdpPort } from './system.js';

const ROOT = resolve(import.meta.dirname, '../..');

/** A process of the machine, by id, with its parent's id and its command line. */
export interface OwnProcess {
  pid: number;
  ppid: number;
  args: string;
}

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
  /** The `npm start` process itself (npm, which runs local/start.ts under it). */
  npmPid: number;
  /** Resolves when the `npm start` process has exited. */
  exited: Promise<void>;
  /** Every process still running that belongs to this npm start: its data dir is in its environment or arguments. */
  processes(): OwnProcess[];
  /** Ctrl-C, as a terminal sends it to the foreground group; resolves once every port is free again and no process is left. */
  stop(): Promise<void>;
}

/**
 * Processes whose environment or command line names `dataDir`. npm start's
 * every descendant inherits NETPOKE_DATA_DIR, so this finds them however they
 * were reparented; processes of other users are skipped.
 */
export function processesOf(dataDir: string): OwnProcess[] {
  const found: OwnProcess[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      const args = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').join(' ').trim();
      const env = readFileSync(`/proc/${name}/environ`, 'utf8').split('\0');
      // stat: "pid (comm) state ppid ...", where comm may hold spaces and parentheses.
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (env.includes(`NETPOKE_DATA_DIR=${dataDir}`) || args.includes(dataDir)) found.push({ pid: Number(name), ppid, args });
    } catch {
      // Gone meanwhile, or not ours to read.
    }
  }
  return found;
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

/** A test that failed to stop everything must not leave it to the next run: kills what is left, by process id, never by name. */
function killLeftovers(dataDir: string): void {
  for (const p of processesOf(dataDir)) {
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      // Gone meanwhile.
    }
  }
}

/** Starts `npm start` and resolves once it printed the URL to open; `looseDataDir` opens the data dir to everyone first (0755), as an old one may be. */
export async function startLocalSystem(opts: { looseDataDir?: boolean } = {}): Promise<LocalSystem> {
  const dataDir = mkdtempSync(join(tmpdir(), 'netpoke-start-'));
  if (opts.looseDataDir) chmodSync(dataDir, 0o755);
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
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
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
      npmPid: child.pid!,
      exited,
      processes: () => processesOf(dataDir),
      async stop() {
        if (child.exitCode === null && child.signalCode === null) {
          process.kill(-child.pid!, 'SIGINT');
          await exited;
        }
        try {
          // wrangler and workerd run in a group of their own, which npm start stops.
          await eventually(async () => (await Promise.all([ports.edge, ports.db, ports.relay].map(portIsFree))).every(Boolean) && processesOf(dataDir).length === 0, 20_000);
        } finally {
          killLeftovers(dataDir);
          rmSync(dataDir, { recursive: true, force: true });
        }
      },
    };
  } catch (e) {
    killGroup();
    killLeftovers(dataDir);
    rmSync(dataDir, { recursive: true, force: true });
    throw e;
  }
}
