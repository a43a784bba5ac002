// The relay's Prometheus endpoint, scraped for real after a real survey and checked by Debian's promtool:
// the internal API wants METRICS_TOKEN (never the shared secret), the ops port (loopback) serves without it.
import { spawnSync } from 'node:child_process';
import { RTCPeerConnection } from 'node-datachannel/polyfill';
import { describe, expect, it } from 'vitest';
import { openConnection } from '../../client/connection.js';
import { runProbe } from '../../cli/run-probe.js';
import { relayConfigFromEnv } from '../../relay/config.js';
import { REJECT_REASONS, SESSION_STATES } from '../../relay/metrics.js';
import { uuid } from '../../shared/ids.js';
import { parseControlMessage, type ControlMessage } from '../../shared/protocol/control.js';
import { directSignal, eventually, metricRows, startTestRelay, TEST_SECRET } from '../helpers/system.js';
import { useDbAndRelay } from '../helpers/use-system.js';

const METRICS_TOKEN = 'test-metrics-token-fedcba9876543210';
const sys = useDbAndRelay({ metricsPort: 0, metricsToken: METRICS_TOKEN });

/** GET /metrics on the internal API (with `secret` as the bearer, if given) or on the ops port. */
async function scrape(where: 'api' | 'ops', secret?: string, at?: string): Promise<{ status: number; contentType: string; body: string }> {
  const base = at ?? (where === 'api' ? sys.relay.url : sys.relay.opsUrl);
  const resp = await fetch(`${base}/metrics`, { headers: secret ? { authorization: `Bearer ${secret}` } : {} });
  return { status: resp.status, contentType: resp.headers.get('content-type') ?? '', body: await resp.text() };
}

/** A scrape that must succeed, as its body. */
async function metricsText(where: 'api' | 'ops' = 'api'): Promise<string> {
  const r = await scrape(where, where === 'api' ? METRICS_TOKEN : undefined);
  expect(r.status).toBe(200);
  return r.body;
}

/** The value of one series (`name` or `name{label="value"}`), or NaN when the exposition has no such series. */
function value(body: string, series: string): number {
  for (const line of body.split('\n')) {
    if (line.startsWith('#')) continue;
    const cut = line.lastIndexOf(' ');
    if (line.slice(0, cut) === series) return Number(line.slice(cut + 1));
  }
  return NaN;
}

/** Client connections in every state, summed. */
function sessionsTotal(body: string): number {
  return SESSION_STATES.reduce((sum, st) => sum + value(body, `netpoke_relay_sessions{state="${st}"}`), 0);
}

/** `promtool check metrics` on the body: its exit code and whatever it printed. */
function promtool(body: string): { code: number | null; out: string } {
  const r = spawnSync('/usr/bin/promtool', ['check', 'metrics'], { input: body, encoding: 'utf8', timeout: 20_000 });
  return { code: r.status, out: `${r.stdout}${r.stderr}`.trim() };
}

describe('relay /metrics', () => {
  it('refuses a scrape of the internal API without METRICS_TOKEN, the shared secret included (401, PROTOCOL error shape)', async () => {
    for (const secret of [undefined, 'not-the-secret', `${METRICS_TOKEN}x`, TEST_SECRET]) {
      const r = await scrape('api', secret);
      expect(r.status).toBe(401);
      const body = JSON.parse(r.body) as { error: { code: string; message: string } };
      expect(body.error.code).toBe('auth_required');
      expect(body.error.message).toMatch(/METRICS_TOKEN/);
      expect(r.body).not.toMatch(/netpoke_relay_/);
    }
  });

  it('serves no metrics on the internal API of a relay without METRICS_TOKEN, whatever the bearer (the ops port alone)', async () => {
    const bare = await startTestRelay(sys.db);
    try {
      for (const secret of [undefined, TEST_SECRET, METRICS_TOKEN]) {
        const r = await scrape('api', secret, bare.url);
        expect(r.status).toBe(404);
        expect((JSON.parse(r.body) as { error: { message: string } }).error.message).toMatch(/RELAY_METRICS_PORT/);
      }
    } finally {
      await bare.close();
    }
  });

  it('after a survey: promtool-clean, probes and rows counted, every session gone', async () => {
    const survey = await runProbe({ url: '', key: 'x', durationMs: 3_000, signal: directSignal(sys.relay, { magicKey: 'metrics-key' }) });
    expect(survey.stoppedBy).toBe('duration');
    // The client's connection is released once it closes; its last rows are queued before the stop is answered.
    const body = await eventually(async () => {
      const b = await metricsText();
      return sessionsTotal(b) === 0 && value(b, 'netpoke_relay_writer_queue_rows') === 0 ? b : null;
    });
    const rows = await metricRows(sys.db.db, survey.surveySessionId);
    const server = rows.filter((r) => r.source === 'server');
    const client = rows.filter((r) => r.source === 'client');
    const sum = (rs: typeof rows, col: string) => rs.reduce((n, r) => n + Number(r[col] ?? 0), 0);
    const checked = promtool(body);
    expect(checked.out).toBe('');
    expect(checked.code).toBe(0);

    for (const st of SESSION_STATES) expect(value(body, `netpoke_relay_sessions{state="${st}"}`)).toBe(0);
    expect(server.length).toBeGreaterThanOrEqual(3);
    expect(sum(server, 'probe_count')).toBeGreaterThan(100);
    // This file's relay is the process's only one, and this its first survey: the totals are exactly its rows'.
    expect(value(body, 'netpoke_relay_probes_received_total')).toBe(sum(server, 'probe_count'));
    expect(value(body, 'netpoke_relay_probes_expected_total')).toBe(sum(server, 'probes_expected'));
    const lost = server.reduce((n, r) => n + Math.round((Number(r.loss_rate) * Number(r.probes_expected)) / 100), 0);
    expect(value(body, 'netpoke_relay_probes_lost_total')).toBe(lost);
    // What the client received of the relay's probes, it was sent.
    expect(value(body, 'netpoke_relay_probes_sent_total')).toBeGreaterThanOrEqual(sum(client, 'probe_count'));
    expect(value(body, 'netpoke_relay_probes_sent_total')).toBeGreaterThan(100);
    expect(value(body, 'netpoke_relay_writer_rows_written_total')).toBeGreaterThanOrEqual(rows.length);
    expect(value(body, 'netpoke_relay_writer_batches_total')).toBeGreaterThan(0);
    for (const reason of ['overflow', 'refused', 'shutdown']) expect(value(body, `netpoke_relay_writer_rows_dropped_total{reason="${reason}"}`)).toBe(0);
    expect(value(body, 'netpoke_relay_writer_last_flush_seconds')).toBeGreaterThan(0);
    expect(value(body, 'netpoke_relay_capture_records_total')).toBeGreaterThan(100);
    expect(value(body, 'netpoke_relay_captures_live')).toBe(0);
    expect(value(body, 'netpoke_relay_capacity_sessions')).toBe(500);
    expect(value(body, `netpoke_relay_info{relay_id="${sys.relay.relayId}",region="local"}`)).toBe(1);
    // The process's own: memory and event-loop delay (monitorEventLoopDelay).
    expect(value(body, 'process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(value(body, 'nodejs_heap_size_used_bytes')).toBeGreaterThan(0);
    for (const stat of ['p50', 'p99', 'max']) {
      const lag = value(body, `netpoke_relay_event_loop_lag_seconds{stat="${stat}"}`);
      expect(lag).toBeGreaterThanOrEqual(0);
      expect(lag).toBeLessThan(5);
    }
    expect(value(body, 'netpoke_relay_event_loop_lag_seconds{stat="p50"}')).toBeLessThanOrEqual(value(body, 'netpoke_relay_event_loop_lag_seconds{stat="max"}'));
  });

  it('counts one bad control message on a raw connection as exactly one rejection', async () => {
    const conn = await openConnection({
      RTCPeerConnection: RTCPeerConnection as unknown as typeof globalThis.RTCPeerConnection,
      signal: directSignal(sys.relay, { magicKey: 'metrics-raw' }),
      connId: uuid(),
      iceTimeoutMs: 10_000,
    });
    const replies: ControlMessage[] = [];
    const errored = new Promise<void>((resolve) => {
      conn.channels.control.onmessage = (e) => {
        const p = parseControlMessage(e.data);
        if (!p.ok) return;
        replies.push(p.message);
        if (p.message.type === 'error') resolve();
      };
    });
    try {
      // Its three channels open, no survey yet.
      const before = await eventually(async () => {
        const b = await metricsText();
        return value(b, 'netpoke_relay_sessions{state="open"}') === 1 ? b : null;
      });
      expect(sessionsTotal(before)).toBe(1);

      conn.channels.control.send('{this is not json');
      await errored;
      expect(replies).toEqual([{ type: 'error', code: 'not_json', message: 'message is not valid JSON' }]);
      const after = await metricsText();
      for (const reason of REJECT_REASONS) {
        const series = `netpoke_relay_rejected_messages_total{reason="${reason}"}`;
        expect(value(after, series) - value(before, series)).toBe(reason === 'not_json' ? 1 : 0);
      }
    } finally {
      conn.close();
    }
    await eventually(async () => sessionsTotal(await metricsText()) === 0);
  });

  it('serves the same on the ops port, without auth, on loopback', async () => {
    expect(sys.relay.opsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const ops = await scrape('ops');
    expect(ops.status).toBe(200);
    expect(ops.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    const checked = promtool(ops.body);
    expect(checked.out).toBe('');
    expect(checked.code).toBe(0);
    const api = await metricsText();
    const names = (b: string) => b.split('\n').filter((l) => l.startsWith('# TYPE ')).sort();
    expect(names(ops.body)).toEqual(names(api));
    for (const series of ['netpoke_relay_writer_rows_written_total', 'netpoke_relay_probes_received_total', 'netpoke_relay_rejected_messages_total{reason="not_json"}']) {
      expect(value(ops.body, series)).toBe(value(api, series));
    }
    expect(value(ops.body, 'netpoke_relay_rejected_messages_total{reason="not_json"}')).toBe(1);
    const missing = await fetch(`${sys.relay.opsUrl}/nothing`);
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe('not_found');
  });

  it('reads RELAY_METRICS_PORT / RELAY_METRICS_HOST: unset is off, the host defaults to loopback', () => {
    const env = { NETPOKE_MODE: 'local', LIBSQL_URL: 'http://127.0.0.1:1', RELAY_SHARED_SECRET: TEST_SECRET };
    expect(relayConfigFromEnv(env)).toMatchObject({ metricsPort: undefined, metricsHost: '127.0.0.1' });
    expect(relayConfigFromEnv({ ...env, RELAY_METRICS_PORT: '' }).metricsPort).toBeUndefined();
    expect(relayConfigFromEnv({ ...env, RELAY_METRICS_PORT: '9464', RELAY_METRICS_HOST: '10.0.0.5' })).toMatchObject({ metricsPort: 9464, metricsHost: '10.0.0.5' });
    expect(() => relayConfigFromEnv({ ...env, RELAY_METRICS_PORT: '70000' })).toThrow(/RELAY_METRICS_PORT/);
  });

  it('reads METRICS_TOKEN and RELAY_SHARED_SECRET_PREVIOUS, and refuses a metrics token that is a signing secret', () => {
    const env = { NETPOKE_MODE: 'local', LIBSQL_URL: 'http://127.0.0.1:1', RELAY_SHARED_SECRET: TEST_SECRET };
    expect(relayConfigFromEnv(env)).toMatchObject({ secrets: { current: TEST_SECRET } });
    expect(relayConfigFromEnv(env).metricsToken).toBeUndefined();
    const old = 'the-previous-secret-0123456789';
    expect(relayConfigFromEnv({ ...env, METRICS_TOKEN: METRICS_TOKEN, RELAY_SHARED_SECRET_PREVIOUS: old })).toMatchObject({ metricsToken: METRICS_TOKEN, secrets: { current: TEST_SECRET, previous: old } });
    expect(() => relayConfigFromEnv({ ...env, METRICS_TOKEN: TEST_SECRET })).toThrow(/METRICS_TOKEN/);
    expect(() => relayConfigFromEnv({ ...env, RELAY_SHARED_SECRET_PREVIOUS: old, METRICS_TOKEN: old })).toThrow(/METRICS_TOKEN/);
    expect(() => relayConfigFromEnv({ ...env, RELAY_SHARED_SECRET_PREVIOUS: TEST_SECRET })).toThrow(/RELAY_SHARED_SECRET_PREVIOUS/);
    expect(() => relayConfigFromEnv({ ...env, METRICS_TOKEN: 'short' })).toThrow(/METRICS_TOKEN/);
  });
});
