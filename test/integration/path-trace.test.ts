// Path traces over real routing: network namespaces made here (client ↔ router 1 ↔ router 2 ↔ relay in this
// namespace), router 2's link toward router 1 at MTU 1400 and every 10th probe expiring at router 1 dropped
// (iptables statistic nth on router 2), the client a child process in its namespace. Needs root, ip, iptables,
// mtr-packet and tracepath: without them this fails, it never skips.
import { execFileSync, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_PATH_TRACE_CONFIG, type PathTraceConfig } from '../../relay/path-trace/path-tracer.js';
import type { RelayHandle } from '../../relay/relay.js';
import { uuid } from '../../shared/ids.js';
import type { ControlMessage, PathTraceMessage } from '../../shared/protocol/control.js';
import { directSignal, eventually, freeUdpPort, startTestDb, startTestRelay, testKeyId, type TestDb } from '../helpers/system.js';
import { openRawClient } from '../helpers/raw-client.js';
import { startTestEdge, type TestEdge } from '../helpers/edge.js';
import { asPrincipal, setUpPrincipals } from '../helpers/principals.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const tag = randomInt(0x1000, 0xffff).toString(16);
const net = randomInt(64, 128);
const ns = { c: `npt${tag}c`, r1: `npt${tag}r1`, r2: `npt${tag}r2` };
const addr = { client: `10.${net}.1.2`, r1: `10.${net}.2.1`, r2Far: `10.${net}.2.2`, r2: `10.${net}.3.1`, relay: `10.${net}.3.2` };
const rootIf = `npt${tag}s`;

function sh(cmd: string, ...args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}
const inNs = (n: string, cmd: string, ...args: string[]) => sh('ip', 'netns', 'exec', n, cmd, ...args);

/** client (a0) ↔ (a1) r1 (b0) ↔ (b1) r2 (d0) ↔ (rootIf) this namespace, where the relay runs. */
function buildTopology(udpPort: number): void {
  for (const n of Object.values(ns)) {
    sh('ip', 'netns', 'add', n);
    sh('ip', '-n', n, 'link', 'set', 'lo', 'up');
  }
  sh('ip', 'link', 'add', `npt${tag}a0`, 'netns', ns.c, 'type', 'veth', 'peer', 'name', `npt${tag}a1`, 'netns', ns.r1);
  sh('ip', 'link', 'add', `npt${tag}b0`, 'netns', ns.r1, 'type', 'veth', 'peer', 'name', `npt${tag}b1`, 'netns', ns.r2);
  sh('ip', 'link', 'add', `npt${tag}d0`, 'netns', ns.r2, 'type', 'veth', 'peer', 'name', rootIf);
  const up = (n: string | null, dev: string, cidr: string, mtu = 1500) => {
    const ipn = n ? ['-n', n] : [];
    sh('ip', ...ipn, 'addr', 'add', cidr, 'dev', dev);
    sh('ip', ...ipn, 'link', 'set', dev, 'mtu', String(mtu), 'up');
  };
  up(ns.c, `npt${tag}a0`, `${addr.client}/24`);
  up(ns.r1, `npt${tag}a1`, `10.${net}.1.1/24`);
  // The r1–r2 link carries at most 1400 bytes: router 2 answers bigger DF probes with "fragmentation needed".
  up(ns.r1, `npt${tag}b0`, `${addr.r1}/24`, 1400);
  up(ns.r2, `npt${tag}b1`, `${addr.r2Far}/24`, 1400);
  up(ns.r2, `npt${tag}d0`, `${addr.r2}/24`);
  up(null, rootIf, `${addr.relay}/24`);
  sh('ip', '-n', ns.c, 'route', 'add', 'default', 'via', `10.${net}.1.1`);
  sh('ip', '-n', ns.r1, 'route', 'add', 'default', 'via', addr.r2Far);
  sh('ip', '-n', ns.r2, 'route', 'add', `10.${net}.1.0/24`, 'via', addr.r1);
  sh('ip', 'route', 'add', `10.${net}.1.0/24`, 'via', addr.r2);
  sh('ip', 'route', 'add', `10.${net}.2.0/24`, 'via', addr.r2);
  for (const r of [ns.r1, ns.r2]) {
    // Forwarding on; no ICMP rate limit (per peer or global), so every unanswered probe is one the path lost.
    inNs(r, 'sysctl', '-qw', 'net.ipv4.ip_forward=1', 'net.ipv4.icmp_ratelimit=0', 'net.ipv4.icmp_msgs_per_sec=100000', 'net.ipv4.icmp_msgs_burst=100000');
  }
  // Loss at hop 2: router 2 drops every 10th of the relay's probes that would expire at router 1 (TTL 1 after its decrement).
  inNs(ns.r2, 'iptables', '-A', 'FORWARD', '-p', 'udp', '--sport', String(udpPort), '-m', 'ttl', '--ttl-eq', '1', '-m', 'statistic', '--mode', 'nth', '--every', '10', '--packet', '0', '-j', 'DROP');
}

function removeTopology(): void {
  for (const n of Object.values(ns)) {
    try {
      sh('ip', 'netns', 'del', n);
    } catch {
      // not made
    }
  }
}

interface NsClient {
  child: ChildProcessWithoutNullStreams;
  messages: (ControlMessage | { type: 'client_ready'; survey_session_id: string; conn_id: string })[];
  until<T>(pick: (m: NsClient['messages']) => T | undefined, what: string, ms?: number): Promise<T>;
  send(msg: Record<string, unknown>): void;
  stderr(): string;
}

/** The key the namespace client signs with; the relay takes only keys its database holds, so the test stores it first. */
const NS_CLIENT_KEY = 'netns-key';

/** The headless client in the client namespace (test/helpers/netns-client.ts). */
function startNsClient(relay: RelayHandle): NsClient {
  const child = spawn('ip', ['netns', 'exec', ns.c, process.execPath, '--import', 'tsx', 'test/helpers/netns-client.ts'], {
    cwd: ROOT,
    env: { ...process.env, RELAY_URL: relay.url, RELAY_ID: relay.relayId, MAGIC_KEY: NS_CLIENT_KEY },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const messages: NsClient['messages'] = [];
  const waiters: (() => void)[] = [];
  createInterface({ input: child.stdout }).on('line', (line) => {
    messages.push(JSON.parse(line) as NsClient['messages'][number]);
    for (const w of waiters.splice(0)) w();
  });
  const c: NsClient = {
    child,
    messages,
    stderr: () => err,
    send: (msg) => child.stdin.write(JSON.stringify(msg) + '\n'),
    until: (pick, what, ms = 60_000) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms; client said ${JSON.stringify(messages).slice(0, 2000)} ${err.slice(-2000)}`)), ms);
        const check = () => {
          const v = pick(messages);
          if (v !== undefined) {
            clearTimeout(timer);
            resolve(v);
          } else waiters.push(check);
        };
        check();
      }),
  };
  return c;
}

const traces = (m: NsClient['messages']) => m.filter((x): x is PathTraceMessage => x.type === 'path_trace');

const TRACE_CONFIG: PathTraceConfig = {
  ...DEFAULT_PATH_TRACE_CONFIG,
  probesPerSecond: 1_000,
  minRequestGapMs: 1_000,
  nameTimeoutMs: 300,
  // 50 probes a hop: the nth drop takes exactly 5 of hop 2's.
  settings: { probesPerHop: 50, maxHops: 30, probeTimeoutS: 1, probeSize: 64 },
};

describe('path trace through network namespaces', () => {
  let db: TestDb;
  let relay: RelayHandle;
  let client: NsClient | null = null;

  beforeAll(async () => {
    db = await startTestDb();
    await testKeyId(NS_CLIENT_KEY);
    const udpPort = await freeUdpPort();
    removeTopology();
    buildTopology(udpPort);
    relay = await startTestRelay(db, { host: addr.relay, bindAddress: addr.relay, udpPort, pathTrace: TRACE_CONFIG });
  }, 60_000);

  afterAll(async () => {
    client?.child.kill('SIGKILL');
    await relay?.close();
    await db?.close();
    removeTopology();
  });

  it('lists both routers in order, puts the loss on hop 2 and finds the 1400-byte MTU at router 2', async () => {
    client = startNsClient(relay);
    const ready = await client.until((m) => m.find((x) => x.type === 'client_ready'), 'client ready', 30_000);
    const trace = await client.until((m) => traces(m)[0], 'first path_trace');
    expect(trace.available).toBe(true);
    expect(trace.hops.map((h) => [h.address, h.loss_rate])).toEqual([
      [addr.r2, expect.any(Number)],
      [addr.r1, expect.any(Number)],
      [null, 1],
    ]);
    expect(trace.hops.slice(0, 2).map((h) => h.address)).toEqual([addr.r2, addr.r1]);
    expect(trace.hops[0]!.loss_rate).toBeLessThanOrEqual(0.02);
    expect(Math.abs(trace.hops[1]!.loss_rate - 0.1)).toBeLessThanOrEqual(0.02);
    expect(trace.hops[0]!.probes).toBe(50);
    expect(trace.hops[0]!.rtt_ms![0]).toBeGreaterThan(0);
    // The client's WebRTC stack holds its port: it never answers, so the table ends one silent hop past router 1.
    expect(trace.hops).toHaveLength(3);
    expect(trace.hops[2]).toMatchObject({ ttl: 3, address: null, loss_rate: 1 });
    expect(trace.path_mtu).toBe(1400);
    expect(trace.mtu_hop).toBe(1);
    expect(trace.mtu_hop_address).toBe(addr.r2);

    // Stored with its hops, toward the client's own address.
    const rows = await eventually(async () => {
      const rs = await db.db.execute({ sql: 'SELECT * FROM survey_path_traces WHERE session_id = ?', args: [ready.survey_session_id] });
      return rs.rows.length ? rs.rows : null;
    });
    expect(String(rows[0]!.target)).toMatch(new RegExp(`^${addr.client.replaceAll('.', '\\.')}:\\d+$`));
    expect(Number(rows[0]!.path_mtu)).toBe(1400);
    const hops = await db.db.execute({ sql: 'SELECT ttl, address, loss_rate FROM survey_path_hops WHERE trace_id = ? ORDER BY ttl', args: [String(rows[0]!.trace_id)] });
    expect(hops.rows.map((r) => [Number(r.ttl), r.address, Number(r.loss_rate)])).toEqual([
      [1, addr.r2, trace.hops[0]!.loss_rate],
      [2, addr.r1, trace.hops[1]!.loss_rate],
      [3, null, 1],
    ]);
  }, 120_000);

  it('a crafted request naming another address still traces the connection’s own peer; a path_trace from the client is refused', async () => {
    const c = client!;
    const before = traces(c.messages).length;
    c.send({ type: 'path_trace', conn_id: (c.messages[0] as { conn_id: string }).conn_id, at_ms: Date.now(), hops: [], path_mtu: null, mtu_hop: null, available: true });
    c.send({ type: 'request_path_trace', conn_id: (c.messages[0] as { conn_id: string }).conn_id, address: addr.r2Far, port: 53, target: addr.r2Far });
    // A second request while that trace runs is over the connection's limit.
    c.send({ type: 'request_path_trace', conn_id: (c.messages[0] as { conn_id: string }).conn_id });
    await c.until((m) => m.find((x) => x.type === 'error' && x.code === 'wrong_direction'), 'wrong_direction for a client path_trace');
    await c.until((m) => m.find((x) => x.type === 'error' && x.code === 'rate_limited'), 'rate_limited for a request too soon');
    const again = await c.until((m) => traces(m)[before], 'the requested trace');
    expect(again.hops.slice(0, 2).map((h) => h.address)).toEqual([addr.r2, addr.r1]);
    expect(traces(c.messages)).toHaveLength(before + 1);
    const ready = c.messages[0] as { survey_session_id: string };
    const targets = await eventually(async () => {
      const rs = await db.db.execute({ sql: 'SELECT target FROM survey_path_traces WHERE session_id = ?', args: [ready.survey_session_id] });
      return rs.rows.length >= 2 ? rs.rows.map((r) => String(r.target).split(':')[0]) : null;
    });
    expect(new Set(targets)).toEqual(new Set([addr.client]));
  }, 120_000);

  it('the survey detail carries the traces as path_traces, with their hops', async () => {
    const ready = client!.messages[0] as { survey_session_id: string; conn_id: string };
    let edge: TestEdge | null = null;
    try {
      edge = await startTestEdge({ libsqlUrl: db.url, libsqlAuthToken: db.authToken });
      const p = await setUpPrincipals(db.db, edge.url, 'pt');
      const resp = await asPrincipal(edge.url, p, 'admin')('GET', `/api/surveys/${ready.survey_session_id}`);
      expect(resp.status).toBe(200);
      const detail = (await resp.json()) as { path_traces: { conn_id: string; available: boolean; path_mtu: number; mtu_hop: number; hops: { ttl: number; address: string | null; loss_rate: number }[] }[] };
      expect(detail.path_traces.length).toBeGreaterThanOrEqual(2);
      const first = detail.path_traces[0]!;
      expect(first).toMatchObject({ conn_id: ready.conn_id, available: true, path_mtu: 1400, mtu_hop: 1 });
      expect(first.hops.map((h) => [h.ttl, h.address])).toEqual([
        [1, addr.r2],
        [2, addr.r1],
        [3, null],
      ]);
      expect(Math.abs(first.hops[1]!.loss_rate - 0.1)).toBeLessThanOrEqual(0.02);

      // The export: a CSV row per hop with its trace's fields; a bad format changes nothing and says which field.
      const csv = await asPrincipal(edge.url, p, 'admin')('GET', `/api/surveys/${ready.survey_session_id}/path-traces?format=csv`);
      expect(csv.status).toBe(200);
      expect(csv.headers.get('content-disposition')).toMatch(/attachment; filename="netpoke-.*-path-traces\.csv"/);
      const lines = (await csv.text()).trimEnd().split('\r\n');
      expect(lines[0]).toBe('conn_id,at_ms,available,reason,path_mtu,mtu_hop,mtu_hop_address,ttl,address,name,rtt_p50_ms,rtt_max_ms,loss_rate,probes');
      expect(lines.length - 1).toBe(detail.path_traces.reduce((n, t) => n + t.hops.length, 0));
      expect(lines[2]).toMatch(new RegExp(`^${ready.conn_id},[\\d.]+,1,,1400,1,${addr.r2.replaceAll('.', '\\.')},2,${addr.r1.replaceAll('.', '\\.')},`));
      const bad = await asPrincipal(edge.url, p, 'admin')('GET', `/api/surveys/${ready.survey_session_id}/path-traces?format=xml`);
      expect(bad.status).toBe(400);
      expect(((await bad.json()) as { error: { code: string; message: string } }).error).toMatchObject({ code: 'invalid_request', message: expect.stringContaining('format') });

      // A purge takes the traces and their hops with the survey.
      client!.child.kill('SIGKILL');
      const purge = await asPrincipal(edge.url, p, 'admin')('DELETE', `/api/surveys/${ready.survey_session_id}?purge=true`);
      expect(purge.status).toBe(204);
      const left = await db.db.execute({
        sql: 'SELECT (SELECT COUNT(*) FROM survey_path_traces WHERE session_id = ?) AS traces, (SELECT COUNT(*) FROM survey_path_hops WHERE session_id = ?) AS hops',
        args: [ready.survey_session_id, ready.survey_session_id],
      });
      expect([Number(left.rows[0]!.traces), Number(left.rows[0]!.hops)]).toEqual([0, 0]);
    } finally {
      await edge?.close();
    }
  }, 120_000);
});

describe('path trace without the privilege', () => {
  let db: TestDb;
  beforeAll(async () => {
    db = await startTestDb();
  }, 30_000);
  afterAll(async () => {
    await db?.close();
  });

  for (const [what, config, reason] of [
    ['RELAY_PATH_TRACE=off', { ...TRACE_CONFIG, enabled: false }, /RELAY_PATH_TRACE=off/],
    ['mtr-packet missing', { ...TRACE_CONFIG, mtrPacketPath: '/nonexistent/mtr-packet' }, /not found/],
  ] as const) {
    it(`${what}: the survey runs as before and the trace is reported unavailable with the reason`, async () => {
      const relay = await startTestRelay(db, { pathTrace: config });
      try {
        const c = await openRawClient(directSignal(relay, { magicKey: 'key-nopriv' }));
        const surveyId = uuid();
        c.send({ type: 'start_survey_session', survey_session_id: surveyId });
        await c.until((r) => r.some((m) => m.type === 'server_side_ready'));
        c.send({ type: 'start_probe_streams', survey_session_id: surveyId });
        await c.until((r) => r.some((m) => m.type === 'path_trace') && r.some((m) => m.type === 'probe_stats'));
        const trace = c.replies.find((m): m is PathTraceMessage => m.type === 'path_trace')!;
        expect(trace).toMatchObject({ available: false, hops: [], path_mtu: null, mtu_hop: null });
        expect(trace.reason).toMatch(reason);
        const rows = await eventually(async () => {
          const rs = await db.db.execute({ sql: 'SELECT available, reason FROM survey_path_traces WHERE session_id = ?', args: [surveyId] });
          return rs.rows.length ? rs.rows : null;
        });
        expect(Number(rows[0]!.available)).toBe(0);
        // Metrics are written as without the feature.
        await eventually(async () => Number((await db.db.execute({ sql: 'SELECT COUNT(*) AS n FROM survey_metrics WHERE session_id = ?', args: [surveyId] })).rows[0]!.n) > 0);
        c.conn.close();
      } finally {
        await relay.close();
      }
    }, 60_000);
  }
});

describe('mtr-packet driver', () => {
  it('sends UDP probes from a port another socket holds, and matches each reply to its probe', async () => {
    const { startMtrPacket } = await import('../../relay/path-trace/mtr-packet.js');
    const { createSocket } = await import('node:dgram');
    // The relay's socket holds the source port: mtr-packet's raw socket only writes it into the header.
    const held = createSocket('udp4');
    await new Promise<void>((r) => held.bind(0, '127.0.0.1', () => r()));
    const localPort = held.address().port;
    const closedPort = await freeUdpPort();
    const mtr = startMtrPacket('mtr-packet');
    try {
      const replies = await Promise.all([1, 2, 3].map((ttl) => mtr.probe({ address: '127.0.0.1', port: closedPort, localAddress: '127.0.0.1', localPort, ttl, timeoutS: 1, size: 64 })));
      // Loopback is the destination at TTL 1: a closed port answers with port unreachable, each probe its own.
      for (const r of replies) expect(r).toMatchObject({ kind: 'reply', address: '127.0.0.1' });
    } finally {
      mtr.close();
      held.close();
    }
    const missing = startMtrPacket('/nonexistent/mtr-packet');
    expect(await missing.probe({ address: '127.0.0.1', port: 1, localPort: 2, ttl: 1, timeoutS: 1, size: 64 })).toEqual({ kind: 'failed', reason: '/nonexistent/mtr-packet not found (install mtr-tiny)' });
    missing.close();
  });
});
