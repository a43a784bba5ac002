import { describe, expect, it } from 'vitest';
import { createProbeEndpoint } from '../../shared/probe/endpoint.js';
import { createEchoQueue } from '../../shared/probe/echo-queue.js';

/** An endpoint on a hand-driven clock and schedule; each send takes 0.25 ms and may be made to fail. */
function rig() {
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
      texts.push(text);
      t += 0.25;
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
    const feedback = { highest_seq: 1, highest_seq_received_at_ms: 1007, recent_count: 2, recent_reorders: 0 };
    expect(r.texts[1]).toBe(JSON.stringify({ seq: 1, sent_at_ms: 1010, direction: 's2c', conn_id: 'c-"1"', feedback, echoes: [e1, e0] }));
    r.sendAt(1020);
    expect(r.texts[2]).toBe(
      JSON.stringify({ seq: 2, sent_at_ms: 1020, direction: 's2c', conn_id: 'c-"1"', feedback, send_ms: { seq: 1, ms: 0.25, est_ms: 0.25 } }),
    );
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
    const feedback = { highest_seq: 0, highest_seq_received_at_ms: 1021, recent_count: 1, recent_reorders: 0 };
    expect(r.texts[1]).toBe(JSON.stringify({ seq: 1, sent_at_ms: 1040, direction: 's2c', conn_id: 'c-"1"', feedback, echoes: [e] }));
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
