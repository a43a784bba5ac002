// Families × paths on loopback (issue 22): a relay with 127.0.0.1 and ::1 on one dual-stack socket, the headless
// client asking for both families and 2 paths each → 4 connections, each held to its family (its local and remote
// ends of that family), each on a 5-tuple of its own, every metric row carrying its family and path, and each
// connection's row its address pair with the client's address cut to /24 or /48.
import { describe, expect, it } from 'vitest';
import { runProbe } from '../../cli/run-probe.js';
import { ipFamily } from '../../shared/ip-family.js';
import { uuid } from '../../shared/ids.js';
import { makeOffer } from '../helpers/edge.js';
import { directSignal, eventually, metricRows } from '../helpers/system.js';
import { useDbAndRelay } from '../helpers/use-system.js';

const sys = useDbAndRelay({ bindAddress: '::', publicAddresses: ['127.0.0.1', '::1'] });

describe('a survey over both families, 2 paths each', () => {
  it('opens 4 connections held to their families and stores family and path with every row', async () => {
    const offers: { family?: string; path_index?: number; candidates: string[] }[] = [];
    const signal = directSignal(sys.relay, { magicKey: 'key-family-paths' });
    const result = await runProbe({
      url: '',
      key: 'ignored',
      durationMs: 2_500,
      families: ['ipv4', 'ipv6'],
      paths: 2,
      signal: async (offer) => {
        const candidates = offer.sdp.split('\r\n').filter((l) => l.startsWith('a=candidate:'));
        offers.push({ family: offer.family, path_index: offer.path_index, candidates });
        return signal(offer);
      },
    });
    expect(result.stoppedBy).toBe('duration');
    expect(result.unavailable).toEqual([]);
    // Each offer names its family and path and holds candidates of that family only.
    expect(offers.map((o) => `${o.family}/${o.path_index}`).sort()).toEqual(['ipv4/0', 'ipv4/1', 'ipv6/0', 'ipv6/1']);
    for (const o of offers) {
      expect(o.candidates.length, JSON.stringify(o)).toBeGreaterThan(0);
      for (const c of o.candidates) expect(ipFamily(c.split(' ')[4]!), c).toBe(o.family);
    }
    // Each connection ended on a pair of its own family, from a local port of its own.
    expect(result.paths.map((p) => `${p.family}/${p.path_index}`).sort()).toEqual(['ipv4/0', 'ipv4/1', 'ipv6/0', 'ipv6/1']);
    for (const p of result.paths) {
      expect(p.pair, p.conn_id).not.toBeNull();
      expect(ipFamily(p.pair!.local.address)).toBe(p.family);
      expect(p.pair!.remote.address).toBe(p.family === 'ipv4' ? '127.0.0.1' : '::1');
    }
    expect(new Set(result.paths.map((p) => p.pair!.local.port)).size).toBe(4);
    // Stats events carry them too.
    const byConn = new Map(result.paths.map((p) => [p.conn_id, p]));
    for (const e of result.seconds) expect([e.family, e.path_index]).toEqual([byConn.get(e.conn_id)!.family, byConn.get(e.conn_id)!.path_index]);

    const rows = await eventually(async () => {
      const r = await metricRows(sys.db.db, result.surveySessionId);
      return new Set(r.filter((x) => x.source === 'server').map((x) => x.conn_id)).size === 4 && new Set(r.filter((x) => x.source === 'client').map((x) => x.conn_id)).size === 4 ? r : null;
    });
    for (const r of rows) {
      const p = byConn.get(String(r.conn_id))!;
      expect([r.family, Number(r.path_index)], String(r.conn_id)).toEqual([p.family, p.path_index]);
    }
    const conns = await eventually(async () => {
      const rs = await sys.db.db.execute({ sql: 'SELECT * FROM survey_connections WHERE session_id = ? ORDER BY family, path_index', args: [result.surveySessionId] });
      return rs.rows.length === 4 ? rs.rows : null;
    });
    expect(conns.map((c) => [c.family, Number(c.path_index), c.client_prefix, c.relay_address, Number(c.relay_port)])).toEqual([
      ['ipv4', 0, '127.0.0.0/24', '127.0.0.1', sys.relay.udpPort],
      ['ipv4', 1, '127.0.0.0/24', '127.0.0.1', sys.relay.udpPort],
      ['ipv6', 0, '::/48', '::1', sys.relay.udpPort],
      ['ipv6', 1, '::/48', '::1', sys.relay.udpPort],
    ]);
    // The client's port the relay saw is the one the client reports as its own.
    for (const c of conns) expect(Number(c.client_port)).toBe(byConn.get(String(c.conn_id))!.pair!.local.port);
  }, 60_000);

  it('the relay answers a connection held to a family with its addresses of that family only', async () => {
    const signal = directSignal(sys.relay, { magicKey: 'key-family-answer' });
    for (const [family, address] of [['ipv6', '::1'], ['ipv4', '127.0.0.1']] as const) {
      const answer = await signal({ sdp: await makeOffer(), type: 'offer', conn_id: uuid(), family, path_index: 3 });
      const candidates = answer.sdp.split('\r\n').filter((l) => l.startsWith('a=candidate:'));
      expect(candidates.map((l) => l.split(' ')[4]), family).toEqual([address]);
      expect(answer.sdp).toContain(`\r\nc=IN ${family === 'ipv6' ? 'IP6' : 'IP4'} ${address}\r\n`);
    }
  });

  it('a survey that names no family stores the family its ICE ended on, and each connection its path', async () => {
    const result = await runProbe({ url: '', key: 'ignored', durationMs: 2_000, connections: 2, signal: directSignal(sys.relay, { magicKey: 'key-no-family' }) });
    expect(result.stoppedBy).toBe('duration');
    const rows = await eventually(async () => {
      const r = await metricRows(sys.db.db, result.surveySessionId);
      return new Set(r.filter((x) => x.source === 'client').map((x) => x.conn_id)).size === 2 ? r : null;
    });
    // The family of the relay address the relay's selected pair names (ICE may try both here: the client did not choose).
    const conns = await sys.db.db.execute({ sql: 'SELECT conn_id, relay_address FROM survey_connections WHERE session_id = ?', args: [result.surveySessionId] });
    const fam = new Map(conns.rows.map((c) => [String(c.conn_id), ipFamily(String(c.relay_address))]));
    expect(fam.size).toBe(2);
    for (const r of rows) expect(r.family, String(r.conn_id)).toBe(fam.get(String(r.conn_id)));
    expect(new Set(rows.map((r) => Number(r.path_index)))).toEqual(new Set([0, 1]));
  }, 60_000);
});
