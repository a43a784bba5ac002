// The relay's internal API over TLS, as deployed: relay/main.ts in its own process with a certificate from a test CA,
// its certificate renewed on SIGHUP without a restart, a headless survey through the edge (workerd trusting the
// test CA) to it; outside local mode the edge never chooses a relay registered with an http:// URL, and a relay
// whose own URL would be http:// refuses to start.
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { get as httpsGet } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runProbe } from '../../cli/run-probe.js';
import { createMagicKey } from '../../shared/db/keys.js';
import { upsertRelay } from '../../shared/db/relays.js';
import { makeOffer, startFakeRelay, startTestEdge, type FakeRelay, type TestEdge } from '../helpers/edge.js';
import { spawnRelay, started, type RelayChild } from '../helpers/relay-child.js';
import { eventually, freeUdpPort, metricRows, startTestDb, TEST_SECRET, type TestDb } from '../helpers/system.js';
import { makeTestCa, type TestCa, type TestCert } from '../helpers/test-ca.js';

const RELAY_ID = 'tls-1';
const dir = mkdtempSync(join(tmpdir(), 'netpoke-tls-'));
/** The files the relay is configured with; a renewal copies new ones over them. */
const live = { certFile: join(dir, 'relay.pem'), keyFile: join(dir, 'relay.key') };

let ca: TestCa;
let certA: TestCert;
let certB: TestCert;
let db: TestDb;
let edge: TestEdge;
let plain: FakeRelay;
let relay: RelayChild;
let api: string;
let key: string;

/** The environment of a relay process against the test database (deployed mode unless `NETPOKE_MODE` says otherwise). */
async function relayEnv(extra: Record<string, string>): Promise<Record<string, string>> {
  return {
    RELAY_ID,
    RELAY_PORT: '0',
    RELAY_UDP_PORT: String(await freeUdpPort()),
    RELAY_SHARED_SECRET: TEST_SECRET,
    RELAY_LOG_LEVEL: 'info',
    LIBSQL_URL: db.url,
    LIBSQL_AUTH_TOKEN: db.authToken,
    NETPOKE_DATA_DIR: join(dir, 'data'),
    ...extra,
  };
}

function install(cert: TestCert): void {
  copyFileSync(cert.certFile, live.certFile);
  copyFileSync(cert.keyFile, live.keyFile);
}

/** The fingerprint of the certificate the server at `url` presents to a new connection that trusts only the test CA. */
function servedFingerprint(url: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((done, fail) => {
    const socket = connect({ host: hostname, port: Number(port), ca: ca.pem }, () => {
      done(socket.getPeerCertificate().fingerprint256);
      socket.end();
    });
    socket.once('error', fail);
  });
}

/** GET over https, trusting only the test CA. */
function getTls(url: string): Promise<{ status: number; body: string }> {
  return new Promise((done, fail) => {
    httpsGet(url, { ca: ca.pem }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => (body += c));
      res.on('end', () => done({ status: res.statusCode ?? 0, body }));
    }).once('error', fail);
  });
}

/** A relay row with a fresh heartbeat, pointing at `url`, in `region`. */
function registerRelay(target: TestDb, id: string, url: string, region: string): Promise<void> {
  const now = Date.now();
  return upsertRelay(target.db, { id, region, public_address: '127.0.0.1:9', internal_url: url, capacity: 1000, active_sessions: 0, last_heartbeat: now, started_at: now });
}

beforeAll(async () => {
  ca = makeTestCa();
  certA = ca.issue('a');
  certB = ca.issue('b');
  install(certA);
  db = await startTestDb();
  // A relay on plain http, in the region the edge prefers: an edge that took http relays would ask it first.
  plain = await startFakeRelay(() => ({ status: 500, body: { error: { code: 'internal_error', message: 'fake' } } }));
  relay = spawnRelay(await relayEnv({ RELAY_TLS_CERT_FILE: live.certFile, RELAY_TLS_KEY_FILE: live.keyFile }));
  api = (await started(relay)).api;
  edge = await startTestEdge({
    libsqlUrl: db.url,
    libsqlAuthToken: db.authToken,
    trustedCertificates: [ca.pem],
    vars: { NETPOKE_MODE: 'deployed', REGION_MAP: JSON.stringify({ '*': ['plain'] }) },
  });
  key = (await createMagicKey(db.db, { label: 'tls', ttlMs: 3_600_000 })).key;
}, 60_000);

afterAll(async () => {
  await relay?.stop();
  await edge?.close();
  await plain?.close();
  await db?.close();
  ca?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('the relay API over TLS', () => {
  it('serves HTTPS with its certificate and registers its https:// URL', async () => {
    expect(api).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(await servedFingerprint(api)).toBe(certA.fingerprint256);
    expect(await getTls(`${api}/health`)).toEqual({ status: 200, body: '{"ok":true}' });
    // Plain http on the same port gets no answer from the API.
    await expect(fetch(`${api.replace('https:', 'http:')}/health`)).rejects.toThrow();
    const rs = await db.db.execute({ sql: 'SELECT internal_url FROM relays WHERE id = ?', args: [RELAY_ID] });
    expect(rs.rows[0]?.internal_url).toBe(api);
  });

  it('carries a headless survey through the edge (deployed mode), which never asks the http:// relay', async () => {
    await registerRelay(db, 'plain-1', plain.url, 'plain');
    const result = await runProbe({ url: edge.url, key, durationMs: 2_500 });
    expect(result.stoppedBy).toBe('duration');
    const peers = await db.db.execute({ sql: 'SELECT DISTINCT relay_id FROM relay_peers WHERE conn_id = ?', args: [result.connIds[0]!] });
    expect(peers.rows.map((r) => r.relay_id)).toEqual([RELAY_ID]);
    const rows = await eventually(async () => {
      const all = await metricRows(db.db, result.surveySessionId);
      return all.some((r) => r.source === 'server') && all.some((r) => r.source === 'client') ? all : null;
    });
    expect(Math.max(...rows.map((r) => Number(r.probe_count)))).toBeGreaterThanOrEqual(80);
    expect(plain.calls).toEqual([]);
  });

  it('takes a renewed certificate on SIGHUP without a restart, and keeps it when the new files do not fit', async () => {
    const pid = relay.child.pid;
    install(certB);
    relay.child.kill('SIGHUP');
    const reloaded = await relay.line(/TLS certificate reloaded/);
    expect(reloaded).toContain(certB.fingerprint256);
    expect(await servedFingerprint(api)).toBe(certB.fingerprint256);
    expect(await getTls(`${api}/health`)).toEqual({ status: 200, body: '{"ok":true}' });
    // A key that is not the certificate's: the reload fails in words and B is still served.
    copyFileSync(certA.keyFile, live.keyFile);
    relay.child.kill('SIGHUP');
    expect(await relay.line(/TLS certificate reload failed/)).toMatch(/previous certificate is still served/);
    expect(await servedFingerprint(api)).toBe(certB.fingerprint256);
    expect(relay.child.pid).toBe(pid);
    expect(relay.child.exitCode).toBeNull();
    install(certB);
  });

  it('outside local mode, an edge whose only relay is http:// answers 503 no_relay and never calls it', async () => {
    const other = await startTestDb();
    const lone = await startTestEdge({ libsqlUrl: other.url, libsqlAuthToken: other.authToken, vars: { NETPOKE_MODE: 'deployed' } });
    try {
      const before = plain.calls.length;
      await registerRelay(other, 'plain-2', plain.url, 'local');
      const otherKey = (await createMagicKey(other.db, { label: 'plain', ttlMs: 3_600_000 })).key;
      const resp = await lone.post('/api/signaling/start', { sdp: await makeOffer(), type: 'offer', magic_key: otherKey });
      expect(resp.status).toBe(503);
      const body = (await resp.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe('no_relay');
      expect(body.error.message).toMatch(/no measurement server is available/);
      expect(plain.calls.length).toBe(before);
    } finally {
      await lone.close();
      await other.close();
    }
  });

  it('refuses to start outside local mode when its internal URL would be http://, and says what to set', async () => {
    const refused = spawnRelay(await relayEnv({ RELAY_ID: 'plain-http' }));
    const outcome = await Promise.race([refused.exited, started(refused).then(() => 'started')]);
    await refused.stop();
    expect(outcome).toBe(1);
    const said = refused.lines.join('\n');
    expect(said).toMatch(/RELAY_INTERNAL_URL: is plain http \(http:\/\/RELAY_HOST:RELAY_PORT\)/);
    for (const words of ['RELAY_TLS_CERT_FILE', 'RELAY_BEHIND_TLS_PROXY=true', 'NETPOKE_MODE=local']) expect(said).toContain(words);
    const rs = await db.db.execute({ sql: "SELECT COUNT(*) AS n FROM relays WHERE id = 'plain-http'" });
    expect(Number(rs.rows[0]?.n)).toBe(0);
  });

  it('refuses to start with a certificate file it cannot read, or a key that is not the certificate\'s', async () => {
    const cases = [
      { env: { RELAY_TLS_CERT_FILE: join(dir, 'missing.pem'), RELAY_TLS_KEY_FILE: certA.keyFile }, says: /relay: RELAY_TLS_CERT_FILE: cannot read .*missing\.pem/ },
      { env: { RELAY_TLS_CERT_FILE: certA.certFile, RELAY_TLS_KEY_FILE: certB.keyFile }, says: /relay: RELAY_TLS_CERT_FILE \/ RELAY_TLS_KEY_FILE: the certificate and key cannot be used together/ },
    ];
    for (const c of cases) {
      const refused = spawnRelay(await relayEnv({ RELAY_ID: 'bad-tls', ...c.env }));
      const outcome = await Promise.race([refused.exited, started(refused).then(() => 'started')]);
      await refused.stop();
      expect(outcome).toBe(1);
      expect(refused.lines.join('\n')).toMatch(c.says);
    }
  });
});
