import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runProbe } from '../../cli/run-probe.js';
import { eventually, freeUdpPort } from '../helpers/system.js';

const ROOT = resolve(import.meta.dirname, '../..');
const dataDir = mkdtempSync(join(tmpdir(), 'netpoke-start-'));
let child: ChildProcess | null = null;

afterAll(() => {
  try {
    if (child?.pid) process.kill(-child.pid, 'SIGKILL');
  } catch {
    // Already gone, as it should be.
  }
  rmSync(dataDir, { recursive: true, force: true });
});

async function freeTcpPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const { port } = srv.address() as { port: number };
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

async function portIsFree(port: number): Promise<boolean> {
  const srv = createServer();
  return new Promise((resolvePort) => {
    srv.once('error', () => resolvePort(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolvePort(true)));
  });
}

describe('npm start (the README command)', () => {
  it('runs database, relay and edge under wrangler dev, prints the URL, serves a survey, and stops cleanly on Ctrl-C', async () => {
    const ports = { db: await freeTcpPort(), relay: await freeTcpPort(), edge: await freeTcpPort(), udp: await freeUdpPort() };
    child = spawn('npm', ['start'], {
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
    const url = await new Promise<string>((resolveUrl, reject) => {
      child!.stdout!.on('data', (d: Buffer) => {
        output += d.toString();
        const m = /open\s+(http:\/\/127\.0\.0\.1:\d+)\/\?key=demo/.exec(output);
        if (m) resolveUrl(m[1]!);
      });
      child!.once('exit', (code) => reject(new Error(`npm start exited (${code}) before printing the URL:\n${output}`)));
    });
    expect(url).toBe(`http://127.0.0.1:${ports.edge}`);
    expect(output).toContain(`npm run probe -- --url ${url} --key demo`);

    const page = await fetch(`${url}/?key=demo`);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('<script type="module" src="/app.js">');
    expect((await fetch(`${url}/app.js`)).status).toBe(200);

    const result = await runProbe({ url, key: 'demo', durationMs: 3_000 });
    expect(result.seconds.length).toBeGreaterThanOrEqual(2);
    expect(result.seconds.at(-1)!.s2c.probe_count).toBeGreaterThan(80);
    expect(result.pcapAvailable).toBe(true);

    expect(statSync(join(dataDir, 'netpoke.db')).isFile()).toBe(true);
    expect(statSync(join(dataDir, 'local-secret')).mode & 0o777).toBe(0o600);

    // Ctrl-C in a terminal signals the whole foreground process group.
    const exited = new Promise<void>((r) => child!.once('exit', () => r()));
    process.kill(-child.pid!, 'SIGINT');
    await exited;
    // Every process npm start began (wrangler and workerd run in a group of their own) lets go of its port.
    await eventually(async () => (await Promise.all([ports.edge, ports.db, ports.relay].map(portIsFree))).every(Boolean), 20_000);
    expect(output).not.toMatch(/while stopping|Error:/);
  }, 120_000);
});
