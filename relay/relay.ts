import { existsSync } from 'node:fs';
import { join, sep } from 'node:path';
import { createClient } from '@libsql/client';
import type { DataChannel } from 'node-datachannel';
import { libsqlOptions } from '../shared/db/client-options.js';
import { unstoredCaptures } from '../shared/db/capture-store.js';
import { relayOpenedConnection } from '../shared/db/relay-health.js';
import { markRelayPeerOpened } from '../shared/db/relays.js';
import { assertSchemaCurrent } from '../shared/db/schema-version.js';
import { uuid } from '../shared/ids.js';
import { claimSurvey, type SurveyEndReason } from '../shared/db/surveys.js';
import { createTickGroup } from '../shared/probe/tick-group.js';
import { startTicker, type Ticker } from '../shared/probe/ticker.js';
import type { RelayCreatePeerRequest, RelayLoad, RelayTokenClaims } from '../shared/protocol/relay-api.js';
import { nowMs } from '../shared/time.js';
import { findMagicKeyById } from '../shared/db/keys.js';
import { ApiError, createRelayApi, type RelayService } from './api.js';
import { listenApi } from './api-server.js';
import { captureCounters, captureMessage, createCaptureBudget, type CaptureCounters } from './capture/capture-buffer.js';
import { createCaptureHandoff, type CaptureHandoff } from './capture/capture-handoff.js';
import { createCaptureWriter } from './capture/capture-writer.js';
import type { RelayConfig } from './config.js';
import { DEFAULT_IDLE_TIMEOUT_MS, DEFAULT_MAX_CONNECTION_MS, watchConnection } from './connection-watch.js';
import { receiveControl, type ControlContext } from './control-handler.js';
import { endConnection, isEnding } from './end-connection.js';
import { DEFAULT_KEY_CHECK_MS, startKeyWatch, type KeyWatch } from './key-watch.js';
import { createDrain, DEFAULT_DRAIN_MS, type Drain } from './drain.js';
import { createLogger, type Logger } from './log.js';
import { createMetricWriter, type MetricWriter } from './metric-writer.js';
import { countRejected, createRelayMetrics } from './metrics.js';
import { startOpsServer } from './ops-server.js';
import { createPathTracer } from './path-trace/path-tracer.js';
import { answerOffer, BadOfferError, holdUdpPort, isCandidate } from './peer.js';
import { candidatesOfFamily, hasCandidates } from '../shared/sdp.js';
import { checkReadiness } from './readiness.js';
import { onChannelClosed } from './channel-closed.js';
import { moveTo, own, ownTimeout } from './session-state.js';
import { registeredAddresses, startRegistry, type Registry } from './registry.js';
import { createSurveyClock } from './survey-clock.js';
import { endSurvey } from './survey-end.js';
import { oversizeMessage } from '../shared/protocol/limits.js';
import { CHANNEL_LABELS, closeSession, createSession, notePair, type ChannelLabel, type Session } from './session.js';

export interface RelayHandle {
  /** Base URL of the internal API. */
  url: string;
  /** Serves new connections with the certificate and key files as they are now (SIGHUP); false when the API is plain HTTP. Rejects, keeping the old one, when they cannot be used. */
  reloadTls(): Promise<boolean>;
  udpPort: number;
  relayId: string;
  activePeers(): number;
  writer: MetricWriter;
  /** Capture memory held and records dropped, for a metrics endpoint. */
  captureCounters(): CaptureCounters;
  /** Base URL of the ops port serving /metrics without auth; null when RELAY_METRICS_PORT is unset. */
  opsUrl: string | null;
  /** The capture hand-off to the edge's store (absent without EDGE_URL). */
  captureHandoff?: CaptureHandoff;
  /** True once a drain started (for GET /ready: 503 while draining). */
  draining(): boolean;
  /**
   * What SIGTERM does: marks the relay `draining` (no new peers), lets running surveys go on up to the drain
   * bound, tells the rest (`error` relay_shutdown) and closes; resolves once the relay is closed.
   */
  drain(): Promise<void>;
  /** Stops at once: surveys still open end as relay_shutdown. Idempotent. */
  close(): Promise<void>;
}

/** What a survey still running when the drain bound is reached is told. */
const SHUTDOWN_WORDS = 'the measurement server is shutting down for maintenance; this survey ends here (start a new one to go on, on another server)';

/** Starts a relay in this process: schema check, registry heartbeat, internal API, and the per-second batched write. */
export async function startRelay(config: RelayConfig, deps: { log?: Logger } = {}): Promise<RelayHandle> {
  const log = deps.log ?? createLogger(config.logLevel);
  // First, so a port already taken fails the start before anything else runs; bound from here to close(), with or without peers (see holdUdpPort).
  const udpPort = await holdUdpPort({ bindAddress: config.bindAddress, udpPort: config.udpPort, gatherTimeoutMs: config.gatherTimeoutMs ?? 2_000 });
  // Without RELAY_PUBLIC_ADDRESS, the addresses the port was gathered on (every interface's on a wildcard bind).
  const publicAddresses = config.publicAddresses ?? udpPort.addresses;
  const db = createClient(libsqlOptions(config.libsqlUrl, config.libsqlAuthToken));
  // One read, no write lock: migrating is the deploy step (`npm run migrate`), and a relay on an older schema refuses to start.
  try {
    await assertSchemaCurrent(db, 'relay');
  } catch (e) {
    udpPort.close();
    db.close();
    throw e;
  }
  const writer = createMetricWriter(db, log);
  const sessions = new Map<string, Session>();
  const clock = createSurveyClock(db, writer, log, () => sessions.values());
  const captures = {
    budget: createCaptureBudget({ maxBytes: config.captureMaxBytes, perConnMaxBytes: config.captureMaxBytesPerConn }),
    files: createCaptureWriter(),
  };
  const handoff = config.edgeUrl ? createCaptureHandoff({ edgeUrl: config.edgeUrl, relayId: config.relayId, secrets: config.secrets, log }) : undefined;
  // Captures a previous run wrote but could not hand off are sent now.
  if (handoff) for (const f of await unstoredCaptures(db, join(config.dataDir, 'captures') + sep)) if (existsSync(f.path)) handoff.add(f);
  // Probes leave from the relay's own address and UDP port: the survey's 5-tuple.
  const specificBind = config.bindAddress !== '0.0.0.0' && config.bindAddress !== '::';
  const pathTrace = config.pathTrace
    ? createPathTracer({ config: config.pathTrace, writer, log, relayId: config.relayId, local: { ...(specificBind ? { address: config.bindAddress } : {}), port: config.udpPort } })
    : undefined;
  const ctx: ControlContext = {
    writer,
    pathTrace,
    captures,
    handoff,
    log,
    dataDir: config.dataDir,
    relayId: config.relayId,
    relayAddr: { ip: publicAddresses[0] ?? config.bindAddress, port: config.udpPort },
    close: (s, why, reason) => release(s, why, reason),
    clock,
    limitGraceMs: config.limitGraceMs,
    // Never the probes' socket: bulk datagrams queued in it would delay the probes behind them.
    peer: {
      bindAddress: config.bindAddress,
      udpPort: config.loadUdpPort ?? 0,
      ...(config.publicAddresses ? { publicAddresses: config.publicAddresses } : {}),
      gatherTimeoutMs: config.gatherTimeoutMs ?? 2_000,
    },
    claimSurvey: async (surveyId, magicKey, userLogin) => {
      // A survey live here has its row already: no round trip for a second connection of it.
      for (const live of sessions.values()) if (live.surveyId === surveyId) return live.magicKey;
      return claimSurvey(db, { session_id: surveyId, magic_key: magicKey, user_login: userLogin, now: Date.now() });
    },
  };
  let registry: Registry | null = null;
  // Set as close() begins: /ready says no from then on (and from the drain's start).
  let closing = false;
  // Every session's s2c probes go out on one 10 ms timer.
  const probeTicks = createTickGroup(10);

  // Set by close() and at the drain's bound: the surveys still open then end as 'relay_shutdown', not 'closed'.
  let shuttingDown = false;
  let closed: Promise<void> | null = null;
  let drained: Promise<void> | null = null;
  const release = (s: Session, why: string, reason: Exclude<SurveyEndReason, 'relay_restart' | 'relay_shutdown'> = 'closed') => {
    if (!sessions.has(s.peerId)) return;
    endSurvey(writer, s, shuttingDown ? 'relay_shutdown' : reason);
    sessions.delete(s.peerId);
    closeSession(s);
    metrics.sessionClosed(s);
    // After closeSession: its streaming period is counted in.
    clock.closed(s);
    drain.peerGone();
    void registry?.peerClosed({ peer_id: s.peerId, relay_id: config.relayId, magic_key: s.magicKey, conn_id: s.connId });
    log('info', 'peer closed', { peer_id: s.peerId, conn_id: s.connId, why });
  };

  /**
   * Counts a connection this relay answered that never opened against the relay: its UDP port may be unreachable
   * (edges back off after a few in a row; see relay-health.ts). Once per connection, and only while it is unopened.
   */
  const neverOpened = (s: Session) => {
    if (s.machine.state !== 'signaled' || !sessions.has(s.peerId)) return;
    void registry?.neverOpened();
  };

  /** Ends a connection with an `error` that tells the client why (idle, too long open, key revoked or expired). */
  const endWith = (s: Session, code: 'idle_timeout' | 'connection_time_limit' | 'key_revoked' | 'key_expired', message: string) => {
    if (!sessions.has(s.peerId)) return;
    log('info', 'ending a connection', { peer_id: s.peerId, conn_id: s.connId, code });
    endConnection(writer, s, code, message, () => release(s, code, code));
  };

  const onChannel = (s: Session, dc: DataChannel) => {
    const label = dc.getLabel() as ChannelLabel;
    if (!CHANNEL_LABELS.includes(label) || s.channels[label]) {
      dc.close();
      return;
    }
    s.channels[label] = dc;
    const markOpen = () => {
      if (s.machine.state !== 'signaled' || !CHANNEL_LABELS.every((l) => s.channels[l]?.isOpen())) return;
      moveTo(s.machine, 'open');
      // A connection that opens clears any failure streak edges recorded against this relay (see relay-health.ts).
      writer.enqueue({ stmt: markRelayPeerOpened(s.peerId, Date.now()) });
      writer.enqueue({ stmt: relayOpenedConnection(config.relayId, Date.now()) });
    };
    dc.onOpen(markOpen);
    markOpen();
    const detach = onChannelClosed(dc, () => {
      if (label !== 'bulk') release(s, `${label} channel closed`);
    });
    own(s.machine, detach, 'connection');
    dc.onError((err) => log('warn', 'data channel error', { conn_id: s.connId, label, err }));
    dc.onMessage((data) => {
      const at = nowMs();
      s.lastHeardAt = Date.now();
      // Sizes first: nothing of an oversized message is stored or parsed.
      if (isEnding(s)) return;
      const tooLarge = oversizeMessage(label, data);
      if (tooLarge) {
        log('warn', 'oversized message', { conn_id: s.connId, label });
        countRejected('too_large');
        endConnection(writer, s, 'too_large', tooLarge, () => release(s, `oversized ${label} message`, 'too_large'));
        return;
      }
      try {
        if (label === 'probe') {
          if (typeof data !== 'string') return;
          // Probes count only while streams run (and until the last window after they stop).
          if (!s.streaming && !s.finalReport) return;
          captureMessage(s.capture, at, 'c2r', 'probe', data);
          if (s.endpoint.receive(data, at)) s.finalReport?.probeArrived(at);
        } else if (label === 'bulk') {
          const payload = asPayload(data);
          s.bytes.c2s += typeof payload === 'string' ? Buffer.byteLength(payload) : payload.byteLength;
          captureMessage(s.capture, at, 'c2r', 'bulk', payload);
        } else {
          const text = typeof data === 'string' ? data : null;
          captureMessage(s.capture, at, 'c2r', 'control', asPayload(data));
          receiveControl(ctx, s, text);
        }
      } catch (e) {
        log('error', 'message handler failed', { conn_id: s.connId, label, error: String(e) });
      }
    });
  };

  let reserved = 0;
  const pendingConnIds = new Set<string>();
  const drain: Drain = createDrain({
    boundMs: config.drainMs ?? DEFAULT_DRAIN_MS,
    peers: () => sessions.size + reserved,
    markDraining: async () => registry?.announce(),
    endRemaining: () => {
      shuttingDown = true;
      for (const s of [...sessions.values()]) endConnection(writer, s, 'relay_shutdown', SHUTDOWN_WORDS, () => release(s, 'drain bound reached'));
    },
    log,
  });

  /** The magic key a create token names by key_id; refused in words when the token names none or the database holds no such key. */
  const keyNamed = async (keyId: string | undefined): Promise<string> => {
    if (!keyId) throw new ApiError('key_invalid', 'token refused: it names no key (key_id)');
    const key = await findMagicKeyById(db, keyId);
    if (!key) throw new ApiError('key_invalid', `no key with key_id ${keyId} in the database`);
    return key.key;
  };

  /** Answers the offer and sets the session up, with room and conn_id already reserved. */
  const createPeerReserved = async (claims: RelayTokenClaims & { peer_id: string }, req: RelayCreatePeerRequest, connId: string, admitted: () => void) => {
    // The token names the key; the key itself (for survey_sessions.magic_key, the peer row and the key watch) is one read here.
    const magicKey = await keyNamed(claims.key_id);
    let answer;
    try {
      answer = await answerOffer(claims.peer_id, req.sdp, {
        bindAddress: config.bindAddress,
        udpPort: config.udpPort,
        publicAddresses: config.publicAddresses,
        gatherTimeoutMs: config.gatherTimeoutMs ?? 2_000,
      });
    } catch (e) {
      if (e instanceof BadOfferError) throw new ApiError('invalid_request', e.message);
      throw e;
    }
    // Held to the family the client named (issue 22): only that family's candidates are offered to it.
    if (req.family) {
      const sdp = candidatesOfFamily(answer.sdp, req.family);
      if (!hasCandidates(sdp)) {
        answer.pc.close();
        throw new ApiError('unavailable', `family: this relay has no ${req.family} address; another relay may`);
      }
      answer = { ...answer, sdp };
    }
    const s = createSession({
      peerId: claims.peer_id,
      connId,
      magicKey,
      userLogin: claims.user_login ?? null,
      maxMeasuringMs: claims.max_measuring_ms ?? config.defaultMaxMeasuringMs,
      pc: answer.pc,
      ...(req.family ? { family: req.family } : {}),
      ...(req.path_index !== undefined ? { pathIndex: req.path_index } : {}),
      schedule: probeTicks.schedule,
      ...(config.controlBudget ? { controlBudget: config.controlBudget } : {}),
    });
    sessions.set(s.peerId, s);
    admitted();
    // The row is in before the answer goes out, so the edge counts this peer against the key's limit at once;
    // a slow or failing database delays answers by at most a second.
    await atMost(1_000, registry?.peerOpened({ peer_id: s.peerId, relay_id: config.relayId, magic_key: s.magicKey, conn_id: connId }));
    answer.pc.onDataChannel((dc) => onChannel(s, dc));
    answer.pc.onStateChange((state) => {
      if (state === 'connected') {
        const pair = answer.pc.getSelectedCandidatePair();
        if (pair) s.clientAddr = { ip: pair.remote.address, port: pair.remote.port };
        notePair(s);
      }
      // Not transient: libdatachannel closes the transports itself on 'disconnected' and 'failed'.
      if (state === 'failed' || state === 'closed' || state === 'disconnected') {
        if (state === 'failed') neverOpened(s);
        release(s, `peer ${state}`);
      }
    });
    // Owned by 'signaled': it is gone once all three channels are open.
    ownTimeout(s.machine, config.openTimeoutMs ?? 15_000, () => {
      neverOpened(s);
      release(s, 'channels not open in time');
    });
    watchConnection(s, { idleMs: config.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS, maxMs: config.maxConnectionMs ?? DEFAULT_MAX_CONNECTION_MS }, (code, message) => endWith(s, code, message));
    log('info', 'peer created', { peer_id: s.peerId, conn_id: connId });
    return { peer_id: s.peerId, conn_id: connId, sdp: answer.sdp, type: 'answer' as const };
  };

  const service: RelayService = {
    relayId: config.relayId,
    secrets: config.secrets,
    metricsToken: config.metricsToken,
    load(resetSlip = false): RelayLoad {
      const load = {
        relay_id: config.relayId,
        region: config.region,
        active_sessions: sessions.size,
        capacity: config.capacity,
        timer_slip_p99_ms: probeTicks.slip().p99,
      };
      if (resetSlip) probeTicks.resetSlip();
      return load;
    },

    async createPeer(claims: RelayTokenClaims & { peer_id: string }, req: RelayCreatePeerRequest) {
      if (drain.draining) throw new ApiError('unavailable', 'this relay is draining (shutting down): it takes no new peers; another relay will');
      if (sessions.has(claims.peer_id)) throw new ApiError('conflict', 'a peer with this id exists');
      if (sessions.size + reserved >= config.capacity) throw new ApiError('no_relay', 'this relay is full');
      const connId = req.conn_id ?? uuid();
      // A conn_id names one live connection: reusing a live one (another client's) is a conflict, not a takeover.
      if ([...sessions.values()].some((live) => live.connId === connId) || pendingConnIds.has(connId)) throw new ApiError('conflict', 'conn_id: a connection with this id is live');
      // Room and the conn_id are held from here, before any await, so a burst cannot overshoot the capacity.
      reserved++;
      pendingConnIds.add(connId);
      let held = true;
      const unreserve = () => {
        if (!held) return;
        held = false;
        reserved--;
        pendingConnIds.delete(connId);
      };
      try {
        return await createPeerReserved(claims, req, connId, unreserve);
      } finally {
        unreserve();
        drain.peerGone();
      }
    },

    draining: () => drain.draining,
    drain: () => void drainAndClose(),


    addCandidate(peerId, candidate) {
      const s = sessions.get(peerId);
      if (!s) return false;
      if (candidate.trim() === '') return true; // end-of-candidates
      // Checked, then not used: the relay answers the client's checks and never checks first (see answerOffer).
      if (!isCandidate(candidate)) throw new ApiError('invalid_request', 'candidate: not an ICE candidate line');
      return true;
    },

    closePeer(peerId) {
      const s = sessions.get(peerId);
      if (s) release(s, 'closed by the edge');
    },

    ready: () => checkReadiness({ db, relayId: config.relayId, draining: () => closing || drain.draining, registered: () => registry !== null }),
  };

  // Once a second, every session's queued rows leave in one batched write.
  const ticker: Ticker = startTicker(1000, () => void writer.flush());

  const metrics = createRelayMetrics({
    relayId: config.relayId,
    region: config.region,
    sessions: () => sessions.values(),
    load: () => service.load(),
    writer: () => writer.counters(),
    capture: () => captureCounters(captures.budget),
    captureFilesWriting: () => captures.files.pending,
  });
  const api = createRelayApi(service, { scrape: metrics.scrape });
  const { server, port, scheme, cert, reloadTls } = await listenApi(api.fetch, { host: config.host, port: config.port, tls: config.tls });
  const url = config.internalUrl ?? `${scheme}://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  const ops = config.metricsPort === undefined ? null : await startOpsServer({ host: config.metricsHost ?? '127.0.0.1', port: config.metricsPort, scrape: metrics.scrape, ready: service.ready });

  registry = await startRegistry(db, log, {
    relay: { id: config.relayId, region: config.region, ...registeredAddresses(publicAddresses, config.udpPort), internal_url: url, capacity: config.capacity },
    activeSessions: () => sessions.size,
    livePeerIds: () => [...sessions.keys()],
    state: () => (drain.draining ? 'draining' : 'ready'),
    heartbeatMs: config.heartbeatMs ?? 2_000,
  });
  const keyWatch: KeyWatch = startKeyWatch(db, log, { everyMs: config.keyCheckMs ?? DEFAULT_KEY_CHECK_MS, live: () => sessions.values(), end: endWith });
  log('info', 'relay started', { relay_id: config.relayId, api: url, udp_port: config.udpPort, ...(ops ? { ops: ops.url } : {}), ...(cert ? { tls_cert: cert } : {}) });

  return {
    url,
    async reloadTls() {
      try {
        const next = await reloadTls();
        if (next) log('info', 'TLS certificate reloaded', { tls_cert: next });
        return next !== null;
      } catch (e) {
        log('error', 'TLS certificate reload failed; the previous certificate is still served', { error: (e as Error).message });
        throw e;
      }
    },
    udpPort: config.udpPort,
    relayId: config.relayId,
    activePeers: () => sessions.size,
    writer,
    captureCounters: () => captureCounters(captures.budget),
    opsUrl: ops?.url ?? null,
    captureHandoff: handoff,
    draining: () => drain.draining,
    drain: drainAndClose,
    close,
  };

  /** Stops at once, once. */
  function close(): Promise<void> {
    closed ??= closeNow();
    return closed;
  }

  /** Drains, then closes; the same promise for every caller (the signal handler and POST /internal/drain). */
  function drainAndClose(): Promise<void> {
    drained ??= drain.start().then(close);
    return drained;
  }

  async function closeNow(): Promise<void> {
    closing = true;
    ticker.stop();
    await keyWatch.stop();
    shuttingDown = true;
    for (const s of [...sessions.values()]) release(s, 'relay shutting down');
    pathTrace?.close();
    udpPort.close();
    await registry?.stop();
    // Files being written still get their survey_captures rows into the drain.
    await captures.files.close(3_000);
    // A hand-off under way may finish; what does not is found again at the next start.
    await handoff?.idle(2_000);
    handoff?.stop();
    await writer.drain(3_000);
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await ops?.close();
    db.close();
  }
}

/** Waits for `p`, but no longer than `ms`. */
async function atMost(ms: number, p: Promise<void> | undefined): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([p, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}

/** A message as text or a byte view, without copying (a Buffer already is a Uint8Array). */
function asPayload(data: string | Buffer | ArrayBuffer): string | Uint8Array {
  return data instanceof ArrayBuffer ? new Uint8Array(data) : data;
}
