import { describe, expect, it } from 'vitest';
import { createProbeEndpoint } from '../../shared/probe/endpoint.js';
import { createEchoQueue } from '../../shared/probe/echo-queue.js';

/** An endpoint on a hand-driven clock and schedule; send k takes costs[k] ms (0.25 past the list) and may be made to fail. */
function rig(costs: readonly number[] = []) {
  let t = 0;
  let tick: () => void = () => {};
  const texts: string[] = [];
  let fail = false;
  const ep = createProbeEndpoint({
    sendDirection: 's2c',
    connId: 'c-"1"',
    now: () => t,
    schedule: (fn) => ((tick = fn), { stop() {}, skipped: 0 }),
    send: (text) => {
      if (fail) return false;
      t += costs[texts.length] ?? 0.25;
      texts.push(text);
      return true;
    },
  });
  const peer = (seq: number, sentAt: number, at: number) =>
    ep.receive(JSON.stringify({ seq, sent_at_ms: sentAt, direction: 'c2s', conn_id: 'c-"1"' }), at);
  return {
    ep,
    texts,
    peer,
    sendAt(at: number, ok = true) {
      t = at;
      fail = !ok;
      tick();
    },
  };
}

describe('probe text written directly', () => {
  it('is byte for byte what JSON.stringify writes for the probe (hand-computed fields, echoes newest first)', () => {
    const r = rig();
    r.ep.start();
    r.sendAt(1000);
    expect(r.texts[0]).toBe(JSON.stringify({ seq: 0, sent_at_ms: 1000, direction: 's2c', conn_id: 'c-"1"' }));
    r.peer(0, 900, 1005);
    r.peer(1, 910, 1007);
    r.sendAt(1010);
    // held = sent − received + the departure estimate (0.25 ms: the only send timed so far).
    const e1 = { seq: 1, sent_at_ms: 910, held_ms: 3.25 };
    const e0 = { seq: 0, sent_at_ms: 900, held_ms: 5.25 };
    expect(r.texts[1]).toBe(JSON.stringify({ seq: 1, sent_at_ms: 1010, direction: 's2c', conn_id: 'c-"1"', echoes: [e1, e0] }));
    r.sendAt(1020);
    // The send that carried those echoes took the estimate (0.25 ms), so there is nothing to report in `send_ms`.
    expect(r.texts[2]).toBe(JSON.stringify({ seq: 2, sent_at_ms: 1020, direction: 's2c', conn_id: 'c-"1"' }));
  });

  it('reports in send_ms a send that carried echoes and was quicker than the estimate, and only that', () => {
    const r = rig([0.25, 0.25, 0.05, 0.25]);
    r.ep.start();
    for (let k = 0; k < 4; k++) {
      r.peer(k, 900 + k, 999 + 10 * k);
      r.sendAt(1000 + 10 * k);
    }
    const sendMs = r.texts.map((x) => (JSON.parse(x) as { send_ms?: unknown }).send_ms);
    // Probe 0's send was the first timed (no estimate yet: reported whole); probe 1's took the estimate; probe 2's
    // took 0.05 against an estimate of 0.25, reported by probe 3.
    expect(sendMs).toEqual([undefined, { seq: 0, ms: 0.25, est_ms: 0 }, undefined, { seq: 2, ms: 0.05, est_ms: 0.25 }]);
  });

  it('carries feedback on every tenth probe only (seq 0, 10, 20, …), once something has arrived', () => {
    const r = rig();
    r.ep.start();
    r.sendAt(1000);
    r.peer(0, 900, 1005);
    for (let k = 1; k <= 21; k++) r.sendAt(1000 + 10 * k);
    const withFeedback = r.texts.map((t) => JSON.parse(t) as { seq: number; feedback?: unknown }).filter((p) => p.feedback);
    // seq 0 left before anything arrived: no feedback to give.
    expect(withFeedback.map((p) => p.seq)).toEqual([10, 20]);
    expect(withFeedback[0]!.feedback).toEqual({ highest_seq: 0, highest_seq_received_at_ms: 1005, recent_count: 1, recent_reorders: 0 });
  });

  it('keeps the echoes and the seq of a failed send for the next one', () => {
    const r = rig();
    r.ep.start();
    r.sendAt(1000);
    r.peer(0, 900, 1021);
    r.sendAt(1030, false);
    expect(r.texts).toHaveLength(1);
    r.sendAt(1040);
    const e = { seq: 0, sent_at_ms: 900, held_ms: 19.25 };
    expect(r.texts[1]).toBe(JSON.stringify({ seq: 1, sent_at_ms: 1040, direction: 's2c', conn_id: 'c-"1"', echoes: [e] }));
    expect(r.ep.senderReport().paused_ms).toBe(10);
  });

  it('echoes at most 16 per probe, the oldest first taken, and each once', () => {
    const r = rig();
    r.ep.start();
    for (let s = 0; s < 20; s++) r.peer(s, 500 + s, 990 + s / 10);
    r.sendAt(1000);
    r.sendAt(1010);
    const a = JSON.parse(r.texts[0]!) as { echoes: { seq: number }[] };
    const b = JSON.parse(r.texts[1]!) as { echoes: { seq: number }[] };
    expect(a.echoes.map((e) => e.seq)).toEqual([15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0]);
    expect(b.echoes.map((e) => e.seq)).toEqual([19, 18, 17, 16]);
  });
});

describe('echo queue', () => {
  it('drops the oldest when full and keeps arrival order', () => {
    const q = createEchoQueue(4);
    for (let s = 0; s < 6; s++) q.push(s, 100 + s, 200 + s);
    expect(q.length).toBe(4);
    expect([0, 1, 2, 3].map((k) => [q.seqAt(k), q.sentAtAt(k), q.receivedAtAt(k)])).toEqual([
      [2, 102, 202],
      [3, 103, 203],
      [4, 104, 204],
      [5, 105, 205],
    ]);
    q.drop(3);
    expect(q.length).toBe(1);
    expect(q.seqAt(0)).toBe(5);
    q.drop(5);
    expect(q.length).toBe(0);
  });
});
