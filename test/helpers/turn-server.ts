// Debian's coturn (`apt-get install coturn`; the package does not start the daemon) run by a test, on loopback,
// with TURN REST API auth (`use-auth-secret`): the same check a deployed coturn makes of the edge's credentials.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually, freeUdpPort } from './system.js';

export const TURNSERVER = '/usr/bin/turnserver';

export interface TestTurnServer {
  /** e.g. turn:127.0.0.1:41234?transport=udp */
  url: string;
  port: number;
  /** coturn's static-auth-secret. */
  secret: string;
  realm: string;
  /** The UDP ports coturn relays from (below Linux's ephemeral range, so no host candidate lands there). */
  relayPorts: { min: number; max: number };
  /** coturn's log so far. */
  log(): string;
  close(): Promise<void>;
}

/** Starts coturn on a free loopback port and resolves once it answers a STUN binding request. */
export async function startTurnServer(): Promise<TestTurnServer> {
  if (!existsSync(TURNSERVER)) throw new Error(`${TURNSERVER} is missing: apt-get install -y --no-install-recommends coturn (.ci/run does)`);
  const dir = mkdtempSync(join(tmpdir(), 'netpoke-turn-'));
  const port = await freeUdpPort();
  const secret = randomBytes(24).toString('base64url');
  const realm = 'netpoke.test';
  const min = 20_000 + 50 * Math.floor(Math.random() * 200);
  const relayPorts = { min, max: min + 49 };
  const logPath = join(dir, 'turnserver.log');
  const confPath = join(dir, 'turnserver.conf');
  // A config file of our own, so /etc/turnserver.conf is never read.
  writeFileSync(
    confPath,
    [
      `listening-port=${port}`,
      'listening-ip=127.0.0.1',
      'relay-ip=127.0.0.1',
      `min-port=${relayPorts.min}`,
      `max-port=${relayPorts.max}`,
      'use-auth-secret',
      `static-auth-secret=${secret}`,
      `realm=${realm}`,
      'allow-loopback-peers',
      'no-tls',
      'no-dtls',
      'no-tcp',
      'no-tcp-relay',
      'no-cli',
      `log-file=${logPath}`,
      'simple-log',
      'no-stdout-log',
      `pidfile=${join(dir, 'turnserver.pid')}`,
      `userdb=${join(dir, 'turndb')}`,
      'verbose',
      '',
    ].join('\n'),
  );
  const child = spawn(TURNSERVER, ['-c', confPath], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const log = () => (existsSync(logPath) ? readFileSync(logPath, 'utf8') : '');
  const close = async () => {
    await stop(child);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await eventually(async () => {
      if (child.exitCode !== null) throw new Error(`turnserver exited with ${child.exitCode}: ${stderr}${log()}`);
      return stunAnswers(port);
    }, 10_000);
  } catch (e) {
    await close();
    throw e;
  }
  return { url: `turn:127.0.0.1:${port}?transport=udp`, port, secret, realm, relayPorts, log, close };
}

/** Whether a STUN binding request to 127.0.0.1:port gets a binding success answer within 200 ms. */
async function stunAnswers(port: number): Promise<boolean> {
  const sock = createSocket('udp4');
  const txid = randomBytes(12);
  // RFC 5389 header: Binding Request, no attributes, magic cookie, transaction id.
  const request = Buffer.concat([Buffer.from([0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42]), txid]);
  try {
    return await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 200);
      sock.on('message', (msg) => {
        if (msg.readUInt16BE(0) === 0x0101 && msg.subarray(8, 20).equals(txid)) {
          clearTimeout(timer);
          resolve(true);
        }
      });
      sock.on('error', () => resolve(false));
      sock.send(request, port, '127.0.0.1');
    });
  } finally {
    sock.close();
  }
}

/** SIGTERM, then SIGKILL if coturn has not gone within 3 s. */
async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
  await exited;
  clearTimeout(timer);
}
