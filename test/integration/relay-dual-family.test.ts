// A relay with public addresses of both families (loopback 127.0.0.1 and ::1) on one dual-stack UDP socket: its
// answer holds a candidate of each, it registers both with their families, and a client that can reach only one
// of them (the other candidate taken out of the answer before the client applies it) gets a survey.
import { describe, expect, it } from 'vitest';
import { runProbe } from '../../cli/run-probe.js';
import type { Signal } from '../../client/signaling.js';
import { uuid } from '../../shared/ids.js';
import { makeOffer } from '../helpers/edge.js';
import { directSignal, eventually, metricRows } from '../helpers/system.js';
import { useDbAndRelay } from '../helpers/use-system.js';

const sys = useDbAndRelay({ bindAddress: '::', publicAddresses: ['127.0.0.1', '::1'] });

/** The address and port of each candidate line. */
function candidates(sdp: string): string[] {
  return sdp
    .split('\r\n')
    .filter((l) => l.startsWith('a=candidate:'))
    .map((l) => l.split(' ').slice(4, 6).join(' '));
}

/** Signals straight to the relay, and keeps only the answer's candidates at `address`: the client can reach nothing else. */
function onlyTo(address: string): Signal {
  const signal = directSignal(sys.relay, { magicKey: `key-${address}` });
  return async (offer) => {
    const answer = await signal(offer);
    const kept = answer.sdp.split('\r\n').filter((l) => !l.startsWith('a=candidate:') || l.split(' ')[4] === address);
    return { ...answer, sdp: kept.join('\r\n') };
  };
}

/** A survey of `durationMs` reaching the relay only at `address`; its rows from both sides once stored. */
async function surveyVia(address: string, durationMs: number) {
  const signal = onlyTo(address);
  let answered = '';
  const result = await runProbe({
    url: '',
    key: 'ignored-by-relay',
    durationMs,
    signal: async (offer) => {
      const answer = await signal(offer);
      answered = answer.sdp;
      return answer;
    },
  });
  expect(candidates(answered)).toEqual([`${address} ${sys.relay.udpPort}`]);
  expect(result.stoppedBy).toBe('duration');
  return eventually(async () => {
    const rows = await metricRows(sys.db.db, result.surveySessionId);
    const server = rows.filter((r) => r.source === 'server' && r.direction === 'c2s');
    const client = rows.filter((r) => r.source === 'client' && r.direction === 's2c');
    return server.length >= 1 && client.length >= 1 ? { server, client } : null;
  });
}

describe('a relay with IPv4 and IPv6 public addresses', () => {
  it('answers with a host candidate at each, on its one UDP port', async () => {
    const answer = await directSignal(sys.relay, { magicKey: 'key-sdp' })({ sdp: await makeOffer(), type: 'offer', conn_id: uuid() });
    expect(candidates(answer.sdp)).toEqual([`127.0.0.1 ${sys.relay.udpPort}`, `::1 ${sys.relay.udpPort}`]);
    expect(answer.sdp).toContain('\r\nc=IN IP4 127.0.0.1\r\n');
  });

  it('registers both addresses with their families, the first also as public_address', async () => {
    const rs = await sys.db.db.execute({ sql: 'SELECT public_address, public_addresses FROM relays WHERE id = ?', args: [sys.relay.relayId] });
    expect(rs.rows[0]?.public_address).toBe(`127.0.0.1:${sys.relay.udpPort}`);
    expect(JSON.parse(String(rs.rows[0]?.public_addresses))).toEqual([
      { address: '127.0.0.1', family: 'ipv4' },
      { address: '::1', family: 'ipv6' },
    ]);
  });

  it('gives a client that can reach only ::1 a survey, and one that can reach only 127.0.0.1 too', async () => {
    for (const address of ['::1', '127.0.0.1']) {
      const rows = await surveyVia(address, 2_000);
      expect(Math.max(...rows.server.map((r) => Number(r.probe_count))), address).toBeGreaterThanOrEqual(50);
      expect(Math.max(...rows.client.map((r) => Number(r.probe_count))), address).toBeGreaterThanOrEqual(50);
    }
  });
});
