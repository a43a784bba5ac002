// IPv4 and IPv6 side by side over real routing (issue 22): a client namespace made here with an IPv4 and an IPv6
// address on a veth toward this namespace, where the relay answers on both (one dual-stack UDP socket); the headless
// client asks for both families, 4 paths each. Then the client's IPv6 toward the relay is dropped (ip6tables): the
// IPv6 half is reported unavailable with its reason and the IPv4 half completes. Needs root, ip and ip6tables:
// without them this fails, it never skips.
import { execFileSync, spawn } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RelayHandle } from '../../relay/relay.js';
import { eventually, freeUdpPort, metricRows, startTestDb, startTestRelay, testKeyId, type TestDb } from '../helpers/system.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const tag = randomInt(0x1000, 0xffff).toString(16);
const net = randomInt(128, 192);
const ns = `nfm${tag}c`;
const dev = { root: `nfm${tag}a`, client: `nfm${tag}b` };
const addr = { relay4: `10.${net}.1.1`, client4: `10.${net}.1.2`, relay6: `fd7e:${tag}:1::1`, client6: `fd7e:${tag}:1::2` };
const KEY = 'netns-family-key';

const sh = (cmd: string, ...args: string[]) => execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

function buildTopology(): void {
  sh('ip', 'netns', 'add', ns);
  sh('ip', '-n', ns, 'link', 'set', 'lo', 'up');
  sh('ip', 'link', 'add', dev.root, 'type', 'veth', 'peer', 'name', dev.client, 'netns', ns);
  sh('ip', 'addr', 'add', `${addr.relay4}/24`, 'dev', dev.root);
  sh('ip', '-6', 'addr', 'add', `${addr.relay6}/64`, 'dev', dev.root, 'nodad');
  sh('ip', 'link', 'set', dev.root, 'up');
  sh('ip', '-n', ns, 'addr', 'add', `${addr.client4}/24`, 'dev', dev.client);
  sh('ip', '-n', ns, '-6', 'addr', 'add', `${addr.client6}/64`, 'dev', dev.client, 'nodad');
  sh('ip', '-n', ns, 'link', 'set', dev.client, 'up');
}

function removeTopology(): void {
  for (const undo of [() => sh('ip', 'netns', 'del', ns), () => sh('ip', 'link', 'del', dev.root)]) {
    try {
      undo();
    } catch {
      // not made, or gone with the namespace
    }
  }
}

interface ProbeOutput {
  survey_session_id: string;
  stopped_by: string;
  paths: { conn_id: string; family: string; path_index: number; pair: { local: { address: string; port: number }; remote: { address: string; port: number } } | null }[];
  unavailable: { family: string; code: string; reason: string }[];
  seconds: number;
}

/** The client's survey run in the namespace; resolves with its one line of output. */
function probeInNamespace(relay: RelayHandle): Promise<ProbeOutput> {
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, '--import', 'tsx', 'test/helpers/netns-family-probe.ts'], {
    cwd: ROOT,
    env: { ...process.env, RELAY_URL: relay.url, RELAY_ID: relay.relayId, MAGIC_KEY: KEY, FAMILIES: 'ipv4,ipv6', PATHS: '4', DURATION_MS: '3000' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the namespace client did not finish: ${out} ${err.slice(-2000)}`));
    }, 90_000);
    child.on('exit', () => {
      clearTimeout(timer);
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (!line) reject(new Error(`the namespace client printed no result: ${out} ${err.slice(-2000)}`));
      else resolve(JSON.parse(line) as ProbeOutput);
    });
  });
}

describe('families × paths through a network namespace', () => {
  let db: TestDb;
  let relay: RelayHandle;

  beforeAll(async () => {
    db = await startTestDb();
    await testKeyId(KEY);
    removeTopology();
    buildTopology();
    relay = await startTestRelay(db, { host: addr.relay4, bindAddress: '::', udpPort: await freeUdpPort(), publicAddresses: [addr.relay4, addr.relay6] });
  }, 60_000);

  afterAll(async () => {
    await relay?.close();
    await db?.close();
    removeTopology();
  });

  it('runs 4 connections per family, each on its own 5-tuple, rows stored with family and path', async () => {
    const out = await probeInNamespace(relay);
    expect(out.stopped_by).toBe('duration');
    expect(out.unavailable).toEqual([]);
    expect(out.paths.map((p) => `${p.family}/${p.path_index}`).sort()).toEqual(['ipv4/0', 'ipv4/1', 'ipv4/2', 'ipv4/3', 'ipv6/0', 'ipv6/1', 'ipv6/2', 'ipv6/3']);
    for (const p of out.paths) {
      expect(p.pair, p.conn_id).not.toBeNull();
      expect(p.pair!.local.address).toBe(p.family === 'ipv4' ? addr.client4 : addr.client6);
      expect(p.pair!.remote).toEqual({ address: p.family === 'ipv4' ? addr.relay4 : addr.relay6, port: relay.udpPort, type: 'host' });
    }
    // Same addresses and relay port per family: only the client's ports tell the 5-tuples apart, and all 8 differ.
    expect(new Set(out.paths.map((p) => p.pair!.local.port)).size).toBe(8);

    const byConn = new Map(out.paths.map((p) => [p.conn_id, p]));
    const rows = await eventually(async () => {
      const r = await metricRows(db.db, out.survey_session_id);
      const conns = (source: string) => new Set(r.filter((x) => x.source === source).map((x) => x.conn_id)).size;
      return conns('server') === 8 && conns('client') === 8 ? r : null;
    });
    for (const r of rows) expect([r.family, Number(r.path_index)], String(r.conn_id)).toEqual([byConn.get(String(r.conn_id))!.family, byConn.get(String(r.conn_id))!.path_index]);
    const conns = await db.db.execute({ sql: 'SELECT conn_id, family, path_index, client_prefix, client_port, relay_address FROM survey_connections WHERE session_id = ?', args: [out.survey_session_id] });
    expect(conns.rows).toHaveLength(8);
    for (const c of conns.rows) {
      const p = byConn.get(String(c.conn_id))!;
      expect([c.family, Number(c.path_index), Number(c.client_port)]).toEqual([p.family, p.path_index, p.pair!.local.port]);
      expect(c.client_prefix).toBe(p.family === 'ipv4' ? `10.${net}.1.0/24` : `fd7e:${tag}:1::/48`);
      expect(c.relay_address).toBe(p.family === 'ipv4' ? addr.relay4 : addr.relay6);
    }
  }, 120_000);

  it('with IPv6 toward the relay dropped, reports IPv6 unavailable with why and completes the IPv4 half', async () => {
    sh('ip', 'netns', 'exec', ns, 'ip6tables', '-A', 'OUTPUT', '-p', 'udp', '-d', addr.relay6, '-j', 'DROP');
    const out = await probeInNamespace(relay);
    expect(out.stopped_by).toBe('duration');
    expect(out.unavailable).toHaveLength(1);
    expect(out.unavailable[0]).toMatchObject({ family: 'ipv6', code: 'ice_timeout' });
    expect(out.unavailable[0]!.reason).toMatch(/^\d of 4 connections failed: .*(connect|path)/);
    expect(out.paths.map((p) => `${p.family}/${p.path_index}`).sort()).toEqual(['ipv4/0', 'ipv4/1', 'ipv4/2', 'ipv4/3']);
    expect(out.seconds).toBeGreaterThanOrEqual(4 * 2);
    const rows = await eventually(async () => {
      const r = await metricRows(db.db, out.survey_session_id);
      return new Set(r.filter((x) => x.source === 'client').map((x) => x.conn_id)).size === 4 ? r : null;
    });
    expect(new Set(rows.map((r) => r.family))).toEqual(new Set(['ipv4']));
    expect(new Set(rows.map((r) => Number(r.path_index)))).toEqual(new Set([0, 1, 2, 3]));
  }, 120_000);
});
