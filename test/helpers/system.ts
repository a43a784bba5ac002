// Starts real parts for integration tests: the local libSQL server on a temp file, and relays on free ports.
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient, type Client } from '@libsql/client';
import { startHranaServer, type HranaServer } from '../../local/hrana-server.js';
import { keyIdOf } from '../../shared/db/keys.js';
import { migrate } from '../../shared/db/migrate.js';
import { sha256Hex } from '../../shared/signing.js';
import { randomToken, uuid } from '../../shared/ids.js';
import { signRelayToken } from '../../shared/relay-token.js';
import type { Secrets } from '../../shared/secret-keys.js';
import { RelayCreatePeerResponseSchema, type RelayTokenClaims } from '../../shared/protocol/relay-api.js';
import { startRelay, type RelayHandle } from '../../relay/relay.js';
import type { RelayConfig } from '../../relay/config.js';
import type { Signal } from '../../client/signaling.js';
import { createLogger } from '../../relay/log.js';

export const TEST_SECRET = 'test-shared-secret-0123456789abcdef';
/** TEST_SECRET as the configured secrets (no second one). */
export const TEST_SECRETS: Secrets = { current: TEST_SECRET };

export interface TestDb {
  dir: string;
  dbPath: string;
  server: HranaServer;
  url: string;
  /** The bearer token the server requires (LIBSQL_AUTH_TOKEN for the relay and the edge). */
  authToken: string;
  db: Client;
  /** Stops the server (the file stays), e.g. to simulate an outage. */
  stop(): Promise<void>;
  /** Starts it again on the same port and file. */
  restart(): Promise<void>;
  close(): Promise<void>;
}

/** A migrated database file in a temp dir, served by the local Hrana server. */
export async function startTestDb(): Promise<TestDb> {
  const dir = mkdtempSync(join(tmpdir(), 'netpoke-it-'));
  const dbPath = join(dir, 'netpoke.db');
  const authToken = randomToken(24);
  let server = await startHranaServer({ dbPath, authToken });
  const port = server.port;
  const db = createClient({ url: server.url, authToken });
  await migrate(db);
  liveDbs.add(db);
  const t: TestDb = {
    dir,
    dbPath,
    server,
    url: server.url,
    authToken,
    db,
    stop: () => server.close(),
    restart: async () => {
      server = await startHranaServer({ dbPath, port, authToken });
      t.server = server;
    },
    close: async () => {
      liveDbs.delete(db);
      db.close();
      await server.close().catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return t;
}

/** The test databases open in this process: where testKeyId puts the keys that tests sign for directly. */
const liveDbs = new Set<Client>();

/**
 * The key_id of `magicKey`, the key put into every open test database first (left as it is when there):
 * a relay takes only keys its database holds, as the edge signs only for those.
 */
export async function testKeyId(magicKey: string): Promise<string> {
  const hash = await sha256Hex(magicKey);
  const keyId = keyIdOf(hash);
  await Promise.allSettled(
    [...liveDbs].map((db) =>
      db.execute({
        sql: `INSERT INTO magic_keys (key, key_hash, key_id, label, created_at) VALUES (?, ?, ?, 'test key', ?) ON CONFLICT DO NOTHING`,
        args: [magicKey, hash, keyId, Date.now()],
      }),
    ),
  );
  return keyId;
}

/** A UDP port nothing listens on right now. */
export async function freeUdpPort(): Promise<number> {
  const sock = createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  const { port } = sock.address();
  await new Promise<void>((r) => sock.close(() => r()));
  return port;
}

/** A relay in this process on free ports, recording into `db`. */
export async function startTestRelay(db: TestDb, overrides: Partial<RelayConfig> = {}): Promise<RelayHandle> {
  return startRelay(
    {
      relayId: `test-${uuid().slice(0, 8)}`,
      region: 'local',
      host: '127.0.0.1',
      port: 0,
      udpPort: await freeUdpPort(),
      bindAddress: '127.0.0.1',
      capacity: 500,
      secrets: TEST_SECRETS,
      defaultMaxMeasuringMs: 600_000,
      logLevel: 'warn',
      libsqlUrl: db.url,
      libsqlAuthToken: db.authToken,
      dataDir: db.dir,
      heartbeatMs: 500,
      ...overrides,
    },
    { log: createLogger(overrides.logLevel ?? 'error') },
  );
}

/** Signs a relay token the way the edge does. */
export function relayToken(relay: { relayId: string }, claims: Omit<RelayTokenClaims, 'typ' | 'aud' | 'exp' | 'jti'>, secrets = TEST_SECRETS): Promise<string> {
  return signRelayToken(relay.relayId, claims, secrets);
}

/** Signaling straight to a relay's internal API with a signed token, standing in for the edge. */
export function directSignal(relay: Pick<RelayHandle, 'url' | 'relayId'>, opts: { magicKey: string; userLogin?: string; maxMeasuringMs?: number }): Signal {
  return async (offer) => {
    const peerId = uuid();
    const token = await relayToken(relay, { op: 'create', peer_id: peerId, key_id: await testKeyId(opts.magicKey), user_login: opts.userLogin, max_measuring_ms: opts.maxMeasuringMs });
    const resp = await fetch(`${relay.url}/internal/peers`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(offer),
    });
    if (!resp.ok) throw new Error(`relay refused: ${resp.status} ${await resp.text()}`);
    const answer = RelayCreatePeerResponseSchema.parse(await resp.json());
    return { sdp: answer.sdp, session_id: peerId, relay_id: relay.relayId };
  };
}

/** Rows of a survey's metrics, oldest first. */
export async function metricRows(db: Client, surveyId: string): Promise<Record<string, unknown>[]> {
  const rs = await db.execute({ sql: 'SELECT * FROM survey_metrics WHERE session_id = ? ORDER BY id', args: [surveyId] });
  return rs.rows.map((r) => ({ ...r }));
}

/** Resolves once `check` returns a truthy value (polling the database, which has no change events). */
export async function eventually<T>(check: () => Promise<T | null | undefined | false>, timeoutMs = 10_000, everyMs = 100): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

