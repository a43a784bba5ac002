// TURN through Debian's coturn: the edge mints short-lived TURN REST API credentials at GET /api/ice-servers,
// coturn (use-auth-secret) accepts them, and a relay-only headless client measures through coturn's relayed address.
import { execFileSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NodePeerConnection } from '../../cli/node-peer-connection.js';
import { runProbe } from '../../cli/run-probe.js';
import { SurveyError } from '../../client/signaling.js';
import { createMagicKey } from '../../shared/db/keys.js';
import { IceServersResponseSchema, SignalingStartResponseSchema } from '../../shared/protocol/signaling.js';
import { mintTurnCredentials } from '../../shared/turn-credentials.js';
import type { RelayHandle } from '../../relay/relay.js';
import { makeOffer, startTestEdge, type TestEdge } from '../helpers/edge.js';
import { eventually, metricRows, startTestDb, startTestRelay, type TestDb } from '../helpers/system.js';
import { launchChromium, openClientPage } from '../helpers/browser-client.js';
import { startTurnServer, type TestTurnServer } from '../helpers/turn-server.js';

const TTL_S = 300;

let turn: TestTurnServer;
let db: TestDb;
let relay: RelayHandle;
let edge: TestEdge;
let key: string;
/** The static ICE_SERVERS entry: coturn answers STUN too (an unreachable STUN server would hold gathering up). */
let stun: RTCIceServer;

beforeAll(async () => {
  [turn, db] = await Promise.all([startTurnServer(), startTestDb()]);
  stun = { urls: `stun:127.0.0.1:${turn.port}` };
  relay = await startTestRelay(db);
  edge = await startTestEdge({
    libsqlUrl: db.url,
    libsqlAuthToken: db.authToken,
    vars: { TURN_SECRET: turn.secret, TURN_URLS: turn.url, TURN_TTL_S: String(TTL_S), ICE_SERVERS: JSON.stringify([stun]) },
  });
  key = (await createMagicKey(db.db, { label: 'turn', ttlMs: 3_600_000 })).key;
}, 30_000);

afterAll(async () => {
  await relay?.close();
  await edge?.close();
  await db?.close();
  await turn?.close();
});

/** Checks one minted TURN entry: the edge's URLs, expiry ≈ now + TTL, and coturn's HMAC-SHA1 recomputed here. */
function expectMinted(server: RTCIceServer, beforeS: number, afterS: number): void {
  expect(server.urls).toEqual([turn.url]);
  const m = /^(\d+):([A-Za-z0-9_-]{8,})$/.exec(server.username ?? '');
  expect(m).not.toBeNull();
  const expiry = Number(m![1]);
  expect(expiry).toBeGreaterThanOrEqual(beforeS + TTL_S);
  expect(expiry).toBeLessThanOrEqual(afterS + TTL_S);
  expect(server.credential).toBe(createHmac('sha1', turn.secret).update(server.username!).digest('base64'));
}

const nowS = () => Math.floor(Date.now() / 1000);

/** Failed key attempts counted so far, over every address (all of this file's requests come from one). */
async function failureCount(): Promise<number> {
  const rs = await db.db.execute('SELECT COALESCE(SUM(count), 0) AS n FROM key_failures');
  return Number(rs.rows[0]?.n);
}

describe('GET /api/ice-servers', () => {
  it('401 without a key; 403 key_invalid for a wrong key, counted as a failed attempt', async () => {
    const none = await fetch(`${edge.url}/api/ice-servers`);
    expect(none.status).toBe(401);
    expect(((await none.json()) as { error: { code: string } }).error.code).toBe('auth_required');

    const before = await failureCount();
    const wrong = await fetch(`${edge.url}/api/ice-servers`, { headers: { authorization: 'MagicKey not-a-key' } });
    expect(wrong.status).toBe(403);
    expect(await wrong.json()).toEqual({ error: { code: 'key_invalid', message: expect.any(String) } });
    expect(await failureCount()).toBe(before + 1);
  });

  it('200 with the static servers and one TURN entry minted per request, by header or ?key=', async () => {
    const t0 = nowS();
    const byHeader = await fetch(`${edge.url}/api/ice-servers`, { headers: { authorization: `MagicKey ${key}` } });
    const byQuery = await fetch(`${edge.url}/api/ice-servers?key=${encodeURIComponent(key)}`);
    const t1 = nowS();
    expect(byHeader.status).toBe(200);
    expect(byHeader.headers.get('cache-control')).toBe('no-store');
    expect(byQuery.status).toBe(200);
    const a = IceServersResponseSchema.parse(await byHeader.json());
    const b = IceServersResponseSchema.parse(await byQuery.json());
    expect(a.ttl_s).toBe(TTL_S);
    expect(a.ice_servers).toHaveLength(2);
    expect(a.ice_servers[0]).toEqual(stun);
    expectMinted(a.ice_servers[1]!, t0, t1);
    expectMinted(b.ice_servers[1]!, t0, t1);
    expect(b.ice_servers[1]!.username).not.toBe(a.ice_servers[1]!.username);
  });

  it('/api/signaling/start answers the same list, minted too', async () => {
    const t0 = nowS();
    const resp = await edge.post('/api/signaling/start', { sdp: await makeOffer(), type: 'offer', magic_key: key });
    const t1 = nowS();
    expect(resp.status).toBe(200);
    const answer = SignalingStartResponseSchema.parse(await resp.json());
    expect(answer.ice_servers[0]).toEqual(stun);
    expectMinted(answer.ice_servers[1]!, t0, t1);
    // The peer never connects; the relay drops it after its open timeout (or afterAll).
  });
});

/** Every peer the relay has made, by id, and whether it is closed yet (relay_peers). */
async function relayPeers(): Promise<Map<string, boolean>> {
  const rs = await db.db.execute('SELECT peer_id, closed_at FROM relay_peers');
  return new Map(rs.rows.map((r) => [String(r.peer_id), r.closed_at !== null]));
}

/** What the in-page client reports back. */
interface BrowserRun {
  surveyId: string;
  connIds: string[];
  pcapAvailable: boolean;
  policy: string | undefined;
  turnUsername: string | undefined;
  local: { candidateType?: string; address?: string; port?: number } | undefined;
  remote: { candidateType?: string; address?: string; port?: number } | undefined;
}

/** Ports the relay saw the client's packets come from, per its capture of the survey (tshark reads the pcapng). */
function capturedClientPorts(surveyId: string, connId: string): number[] {
  // One file per connection: <conn_id>-<peer_id>.pcapng (relay/capture/save-capture.ts).
  const folder = join(db.dir, 'captures', surveyId);
  const pcap = join(folder, readdirSync(folder).find((f) => f.startsWith(`${connId}-`) && f.endsWith('.pcapng')) ?? `${connId}.pcapng`);
  // The relay's side of each channel is its UDP port plus 0..2 (relay/capture/pcapng.ts).
  const toRelay = `udp.dstport >= ${relay.udpPort} && udp.dstport <= ${relay.udpPort + 2}`;
  return execFileSync('tshark', ['-r', pcap, '-T', 'fields', '-e', 'udp.srcport', '-Y', toRelay], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
    .split('\n')
    .filter(Boolean)
    .map(Number);
}

async function expectMetricRows(surveyId: string): Promise<void> {
  const rows = await eventually(async () => {
    const all = await metricRows(db.db, surveyId);
    const server = all.filter((r) => r.source === 'server' && r.direction === 'c2s');
    const client = all.filter((r) => r.source === 'client' && r.direction === 's2c');
    return server.length >= 3 && client.length >= 3 ? { server, client } : null;
  });
  expect(Math.max(...rows.server.map((r) => Number(r.probe_count)))).toBeGreaterThanOrEqual(80);
  expect(Math.max(...rows.client.map((r) => Number(r.probe_count)))).toBeGreaterThanOrEqual(80);
}

describe('relay-only surveys through coturn', () => {
  it('in Chromium, a relay-only survey completes with its selected pair through coturn, and its rows land', async () => {
    const browser = await launchChromium();
    try {
      const page = await openClientPage(browser, edge.url);
      const run = await page.evaluate(async (magicKey): Promise<BrowserRun> => {
        const pcs: { pc: RTCPeerConnection; config: RTCConfiguration }[] = [];
        class Recording extends RTCPeerConnection {
          constructor(config: RTCConfiguration = {}) {
            super(config);
            pcs.push({ pc: this, config });
          }
        }
        const client = (window as unknown as { NetPokeClient: { startSurvey: typeof import('../../client/survey-client.js').startSurvey } }).NetPokeClient;
        const survey = await client.startSurvey({ baseUrl: '', magicKey, RTCPeerConnection: Recording as typeof RTCPeerConnection, iceTransportPolicy: 'relay' });
        // The measurement itself: four seconds of probes.
        await new Promise((r) => setTimeout(r, 4_000));
        const stats = await pcs[0]!.pc.getStats();
        let pairId: string | undefined;
        stats.forEach((s: { type: string; selectedCandidatePairId?: string }) => {
          if (s.type === 'transport' && s.selectedCandidatePairId) pairId = s.selectedCandidatePairId;
        });
        const pair = pairId ? stats.get(pairId) : undefined;
        const { pcap_available } = await survey.stop();
        return {
          surveyId: survey.surveySessionId,
          connIds: survey.connIds,
          pcapAvailable: pcap_available,
          policy: pcs[0]!.config.iceTransportPolicy,
          turnUsername: pcs[0]!.config.iceServers?.find((s) => String(s.urls).startsWith('turn:'))?.username,
          local: stats.get(pair?.localCandidateId),
          remote: stats.get(pair?.remoteCandidateId),
        };
      }, key);
      expect(run.pcapAvailable).toBe(true);
      // The page gathered with the edge's list (minted TURN entry included), relay-only.
      expect(run.policy).toBe('relay');
      expect(run.turnUsername).toMatch(/^\d+:/);

      // Client side: the selected local candidate is coturn's relayed address; the remote one is the relay.
      expect(run.local?.candidateType).toBe('relay');
      expect(run.local?.address).toBe('127.0.0.1');
      expect(run.local?.port).toBeGreaterThanOrEqual(turn.relayPorts.min);
      expect(run.local?.port).toBeLessThanOrEqual(turn.relayPorts.max);
      expect(run.remote?.port).toBe(relay.udpPort);

      // Relay side: its capture names the client by the address it saw, which is coturn's relayed one.
      const ports = capturedClientPorts(run.surveyId, run.connIds[0]!);
      expect(ports.length).toBeGreaterThan(100);
      expect(new Set(ports)).toEqual(new Set([run.local!.port]));

      // coturn's side: it accepted the edge-minted username for an allocation.
      expect(turn.log()).toContain(`username=<${run.turnUsername}>`);
      await expectMetricRows(run.surveyId);
    } finally {
      await browser.close();
    }
  });

  it('the headless client gathers relay-only with the edge-minted credentials, and refuses in words the direct path libjuice takes', async () => {
    const configs: RTCConfiguration[] = [];
    const offers: string[] = [];
    class Recording extends NodePeerConnection {
      constructor(config: RTCConfiguration = {}) {
        super(config);
        configs.push(config);
      }
      override close(): void {
        // By now gathering is long over: the description holds every candidate that was offered.
        offers.push(this.localDescription?.sdp ?? '');
        super.close();
      }
    }
    const peersBefore = await relayPeers();
    const err = await runProbe({ url: edge.url, key, durationMs: 2_000, relayOnly: true, RTCPeerConnection: Recording as unknown as typeof RTCPeerConnection }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(configs).toHaveLength(1);
    expect(configs[0]!.iceTransportPolicy).toBe('relay');
    const minted = configs[0]!.iceServers?.find((s) => String(s.urls).startsWith('turn:'));
    expect(minted?.username).toMatch(/^\d+:/);
    // coturn allocated for the edge's credentials (escaped for libdatachannel, they arrived whole).
    expect(turn.log()).toContain(`username=<${minted!.username}>`);
    // What the relay was offered: relayed candidates only, on coturn's ports.
    const offered = (offers.at(-1) ?? '').split(/\r?\n/).filter((l) => l.startsWith('a=candidate:'));
    expect(offered.length).toBeGreaterThan(0);
    for (const c of offered) expect(c).toMatch(new RegExp(`^a=candidate:\\S+ 1 UDP \\d+ 127\\.0\\.0\\.1 (\\d+) typ relay`));
    // libjuice still checks from its own socket and takes the direct path: the client says so instead of measuring it.
    expect(err).toBeInstanceOf(SurveyError);
    expect((err as SurveyError).code).toBe('relay_not_enforced');
    expect((err as SurveyError).message).toMatch(/connected directly .* not through the TURN server/);
    // It did connect (one new peer on the relay), and that peer is closed again.
    const made = [...(await relayPeers()).keys()].filter((id) => !peersBefore.has(id));
    expect(made).toHaveLength(1);
    await eventually(async () => (await relayPeers()).get(made[0]!) === true);
  });

  it('an expired TURN credential fails fast with an error naming TURN', async () => {
    const expired = await mintTurnCredentials(turn.secret, { ttlS: -60 });
    const peersBefore = relay.activePeers();
    const t0 = Date.now();
    const err = await runProbe({
      url: edge.url,
      key,
      durationMs: 3_000,
      relayOnly: true,
      iceServers: [{ urls: turn.url, username: expired.username, credential: expired.credential }],
    }).then(
      () => null,
      (e: unknown) => e,
    );
    const elapsed = Date.now() - t0;
    expect(err).toBeInstanceOf(SurveyError);
    expect((err as SurveyError).code).toBe('ice_failed');
    expect((err as SurveyError).message).toMatch(/TURN server refused the credentials or could not be reached/);
    // Well inside the 10 s ICE timeout: the refusal is known once gathering ends.
    expect(elapsed).toBeLessThan(5_000);
    // It failed before signaling: no peer was made on the relay.
    expect(relay.activePeers()).toBe(peersBefore);
    // coturn did see it, and refused it.
    expect(turn.log()).toMatch(new RegExp(`user <${expired.username}>: incoming packet message processed, error 401`));
  });
});
