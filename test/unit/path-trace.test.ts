// The path trace's parts that need no network: target selection, mtr-packet's protocol, the hop table, tracepath's output, the budget.
import { describe, expect, it } from 'vitest';
import { parseControlMessage } from '../../shared/protocol/control.js';
import { summarizeHops, type ProbeOutcome } from '../../relay/path-trace/hop-stats.js';
import { parseReply, probeCommand } from '../../relay/path-trace/mtr-packet.js';
import { createProbeBudget } from '../../relay/path-trace/probe-budget.js';
import { traceTarget } from '../../relay/path-trace/trace-target.js';
import { parseTracepath } from '../../relay/path-trace/tracepath.js';
import { fitControl } from '../../relay/path-trace/path-tracer.js';

const ids = { survey_session_id: '6f1c2a3e-8a4b-4c5d-9e6f-1a2b3c4d5e6f', conn_id: 'c1' };

describe('what a trace may target', () => {
  it('is the selected pair’s remote address and port, and nothing else', () => {
    const pc = { getSelectedCandidatePair: () => ({ local: { address: '10.0.0.1', port: 50000 }, remote: { address: '198.51.100.7', port: 61000 } }) };
    expect(traceTarget(pc as never)).toEqual({ address: '198.51.100.7', port: 61000, family: 4 });
  });

  it('is none before ICE selected a pair, or when the pair holds no IP literal', () => {
    expect(traceTarget({ getSelectedCandidatePair: () => null } as never)).toBeNull();
    expect(traceTarget({ getSelectedCandidatePair: () => ({ local: {}, remote: { address: 'host.example', port: 1 } }) } as never)).toBeNull();
    expect(
      traceTarget({
        getSelectedCandidatePair: () => {
          throw new Error('closed');
        },
      } as never),
    ).toBeNull();
  });

  it('a request_path_trace naming an address parses to a message without it', () => {
    const p = parseControlMessage(JSON.stringify({ type: 'request_path_trace', ...ids, address: '192.0.2.1', port: 53 }));
    expect(p.ok).toBe(true);
    if (p.ok) expect(p.message).toEqual({ type: 'request_path_trace', ...ids });
  });
});

describe('mtr-packet protocol', () => {
  it('builds a UDP probe from the relay’s own port', () => {
    expect(probeCommand(7, { address: '198.51.100.7', port: 61000, localAddress: '10.0.0.1', localPort: 50000, ttl: 3, timeoutS: 2, size: 64 })).toBe(
      '7 send-probe ip-4 198.51.100.7 local-ip-4 10.0.0.1 protocol udp port 61000 local-port 50000 ttl 3 timeout 2 size 64 bit-pattern 255\n',
    );
    expect(probeCommand(8, { address: '2001:db8::1', port: 1, localPort: 2, ttl: 1, timeoutS: 1, size: 64 })).toMatch(/^8 send-probe ip-6 2001:db8::1 protocol udp/);
  });

  it('refuses anything but IP literals and sane numbers (nothing else reaches its stdin)', () => {
    expect(probeCommand(1, { address: '1.2.3.4\n2 send-probe ip-4 8.8.8.8', port: 1, localPort: 2, ttl: 1, timeoutS: 1, size: 64 })).toBeNull();
    expect(probeCommand(1, { address: '1.2.3.4', port: 1, localAddress: '::1', localPort: 2, ttl: 1, timeoutS: 1, size: 64 })).toBeNull();
    expect(probeCommand(1, { address: '1.2.3.4', port: 70000, localPort: 2, ttl: 1, timeoutS: 1, size: 64 })).toBeNull();
  });

  it('reads its replies', () => {
    expect(parseReply('12 ttl-expired ip-4 10.91.3.1 round-trip-time 1052')).toEqual({ token: 12, reply: { kind: 'ttl-expired', address: '10.91.3.1', rttMs: 1.052 } });
    expect(parseReply('13 reply ip-6 2001:db8::1 round-trip-time 250')).toEqual({ token: 13, reply: { kind: 'reply', address: '2001:db8::1', rttMs: 0.25 } });
    expect(parseReply('14 no-reply')).toEqual({ token: 14, reply: { kind: 'no-reply' } });
    expect(parseReply('15 permission-denied')).toEqual({ token: 15, reply: { kind: 'failed', reason: 'mtr-packet: permission-denied' } });
    expect(parseReply('garbage')).toBeNull();
  });
});

describe('hop table', () => {
  const te = (ttl: number, address: string, rttMs: number): ProbeOutcome => ({ ttl, reply: { kind: 'ttl-expired', address, rttMs } });
  const none = (ttl: number): ProbeOutcome => ({ ttl, reply: { kind: 'no-reply' } });

  it('per TTL the responding address, RTT p50 and max, and loss; ends one silent hop past the last answer', () => {
    const outcomes = [te(1, 'a', 1), te(1, 'a', 3), te(1, 'a', 2), te(1, 'a', 5), te(2, 'b', 4), none(2), te(2, 'b', 6), none(2), ...[3, 3, 3, 3, 4, 5].map(none)];
    expect(summarizeHops(outcomes)).toEqual([
      { ttl: 1, address: 'a', rtt_ms: [2, 5], loss_rate: 0, probes: 4 },
      { ttl: 2, address: 'b', rtt_ms: [4, 6], loss_rate: 0.5, probes: 4 },
      { ttl: 3, address: null, rtt_ms: null, loss_rate: 1, probes: 4 },
    ]);
  });

  it('ends at the destination’s reply; unsent probes do not count as lost', () => {
    const outcomes = [te(1, 'a', 1), { ttl: 1, reply: { kind: 'failed' as const, reason: 'x' } }, { ttl: 2, reply: { kind: 'reply' as const, address: 'd', rttMs: 2 } }, none(3)];
    expect(summarizeHops(outcomes)).toEqual([
      { ttl: 1, address: 'a', rtt_ms: [1, 1], loss_rate: 0, probes: 1 },
      { ttl: 2, address: 'd', rtt_ms: [2, 2], loss_rate: 0, probes: 1 },
    ]);
  });
});

describe('tracepath output', () => {
  it('gives the path MTU and the hop that reported it', () => {
    const out = [
      ' 1?: [LOCALHOST]                      pmtu 1500',
      ' 1:  10.91.3.1                                             0.031ms ',
      ' 2:  10.91.3.1                                             0.093ms pmtu 1400',
      ' 2:  10.91.2.1                                             0.009ms ',
      ' 3:  10.91.1.2                                             0.060ms reached',
      '     Resume: pmtu 1400 hops 3 back 3 ',
    ].join('\n');
    expect(parseTracepath(out)).toEqual({ pathMtu: 1400, reporter: '10.91.3.1' });
  });

  it('starting at 1500 bytes (-l), the hop that lowers it reports it; an MTU never lowered is the first probe’s', () => {
    const out = [' 1:  10.91.3.1   0.133ms ', ' 2:  10.91.3.1   0.009ms pmtu 1400', ' 2:  10.91.2.1   0.033ms ', '     Too many hops: pmtu 1400', '     Resume: pmtu 1400 '].join('\n');
    expect(parseTracepath(out)).toEqual({ pathMtu: 1400, reporter: '10.91.3.1' });
    expect(parseTracepath(' 1:  127.0.0.1    0.045ms reached\n', 1500)).toEqual({ pathMtu: 1500, reporter: null });
  });

  it('a cached MTU has no reporter; a killed run keeps the last MTU it saw', () => {
    expect(parseTracepath(' 1?: [LOCALHOST]                      pmtu 1400\n 1:  10.91.3.1   0.03ms\n')).toEqual({ pathMtu: 1400, reporter: null });
    expect(parseTracepath('')).toEqual({ pathMtu: null, reporter: null });
  });
});

describe('path_trace message', () => {
  it('stays within the control channel’s limit: names go first, then the farthest hops', () => {
    const hops = Array.from({ length: 30 }, (_, i) => ({ ttl: i + 1, address: `203.0.113.${i}`, name: 'x'.repeat(64), rtt_ms: [1.123, 2.456] as [number, number], loss_rate: 0.1234, probes: 5 }));
    const msg = fitControl({ type: 'path_trace', ...ids, at_ms: 1, hops, path_mtu: 1500, mtu_hop: null, available: true });
    expect(JSON.stringify(msg).length).toBeLessThanOrEqual(4096);
    expect(msg.hops).toHaveLength(30);
    expect(msg.hops[0]).not.toHaveProperty('name');
    expect(parseControlMessage(JSON.stringify(msg)).ok).toBe(true);
  });
});

describe('probe budget', () => {
  it('hands out no more than its rate after the burst', async () => {
    const budget = createProbeBudget(100, 10);
    const start = Date.now();
    await Promise.all(Array.from({ length: 30 }, () => budget.take()));
    // 10 at once, 20 more at 100/s: at least ~200 ms.
    expect(Date.now() - start).toBeGreaterThanOrEqual(180);
    budget.close();
    await expect(budget.take()).rejects.toThrow('closed');
  });
});

describe('trace as text', () => {
  it('one line a hop with name, RTT and loss, then the MTU and the hop that limits it', async () => {
    const { traceLines } = await import('../../shared/path/hop-text.js');
    expect(
      traceLines({
        available: true,
        hops: [
          { ttl: 1, address: '10.0.0.1', name: 'gw.example', rtt_ms: [0.5, 1.25], loss_rate: 0 },
          { ttl: 2, address: null, rtt_ms: null, loss_rate: 1 },
        ],
        path_mtu: 1400,
        mtu_hop: 1,
      }),
    ).toEqual([
      'hop  address                RTT p50 / max ms  loss',
      '1    gw.example (10.0.0.1)  0.50 / 1.25       0.0 %',
      '2    *                      –                 100.0 %',
      'path MTU 1400, limited at hop 1',
    ]);
    expect(traceLines({ available: false, reason: 'off', hops: [], path_mtu: null, mtu_hop: null })).toEqual(['path trace unavailable: off']);
  });
});

describe('reverse names', () => {
  it('come within their bound, or not at all', async () => {
    const { reverseNames } = await import('../../relay/path-trace/reverse-names.js');
    const start = Date.now();
    // TEST-NET addresses have no reverse names; whatever the resolver does, the answer is in within the bound.
    const names = await reverseNames(['192.0.2.1', '198.51.100.1', '192.0.2.1'], 300);
    expect(Date.now() - start).toBeLessThan(800);
    expect([...names.keys()]).toEqual(['192.0.2.1', '198.51.100.1']);
    for (const v of names.values()) expect(v === null || typeof v === 'string').toBe(true);
  });
});
