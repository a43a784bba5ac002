import { describe, expect, it } from 'vitest';
import { MAX_ECHOES, ProbePacketSchema, parseProbe } from '../../shared/protocol/probe.js';
import { probeShape } from '../../shared/protocol/probe-shape.js';

const echo = () => ({ seq: 40, sent_at_ms: 1764000000090.25, held_ms: 3.5 });
const full = () => ({
  seq: 42,
  sent_at_ms: 1764000000123.5,
  direction: 'c2s',
  conn_id: 'c-1',
  feedback: { highest_seq: 40, highest_seq_received_at_ms: 1764000000100, recent_count: 99, recent_reorders: 0 },
  echo: echo(),
  echoes: [echo(), { seq: 39, sent_at_ms: 1764000000080, held_ms: 0 }],
  send_ms: { seq: 41, ms: 0.05, est_ms: 0.04 },
});

/** Values a field may be set to: in range, at the edges, beyond them, of the wrong type. */
const POOL: unknown[] = [
  0, -0, -1, -2, 1.5, 16, 17, 64, 1_000, 1_000.5, 60_000, 60_001, 1e13, 1e13 + 1, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER + 2,
  Infinity, -Infinity, NaN, null, undefined, true, '', 'x', 'c2s', 's2c', 'c-1', 'y'.repeat(64), 'y'.repeat(65), [], [echo()], {}, echo(),
  Array.from({ length: MAX_ECHOES }, echo), Array.from({ length: MAX_ECHOES + 1 }, echo), [null], [{ ...echo(), extra: 1 }],
];

/** Every path to a value in a probe, nested ones included. */
function paths(o: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  if (typeof o !== 'object' || o === null) return [prefix];
  const keys: (string | number)[] = Array.isArray(o) ? o.map((_, i) => i) : Object.keys(o);
  return [prefix, ...keys.flatMap((k) => paths((o as Record<string | number, unknown>)[k], [...prefix, k]))];
}

function setAt(root: Record<string, unknown>, path: (string | number)[], value: unknown, mode: 'set' | 'delete' | 'add'): unknown {
  const copy = structuredClone(root) as Record<string | number, unknown>;
  if (mode === 'add') {
    let target: unknown = copy;
    for (const k of path) target = (target as Record<string | number, unknown>)[k];
    if (typeof target === 'object' && target !== null && !Array.isArray(target)) (target as Record<string, unknown>).unknown_key = value;
    return copy;
  }
  if (path.length === 0) return mode === 'set' ? value : copy;
  let at = copy;
  for (const k of path.slice(0, -1)) at = at[k] as Record<string | number, unknown>;
  const last = path.at(-1)!;
  if (mode === 'delete') delete at[last];
  else at[last] = value;
  return copy;
}

/** Every single mutation of the full probe (and of its smaller forms): each field set to each pool value, removed, or given an extra key. */
function mutations(): unknown[] {
  const bases: Record<string, unknown>[] = [full(), { seq: 0, sent_at_ms: 0, direction: 's2c', conn_id: 'c' }];
  const out: unknown[] = [...bases, JSON.parse('{"seq":1,"sent_at_ms":1,"direction":"c2s","conn_id":"c","__proto__":{"x":1}}')];
  for (const base of bases) {
    for (const path of paths(base)) {
      for (const v of POOL) out.push(setAt(base, path, v, 'set'));
      out.push(setAt(base, path, undefined, 'delete'));
      out.push(setAt(base, path, 1, 'add'));
    }
  }
  return out;
}

describe('probeShape (parseProbe fast path) against the zod schema', () => {
  const cases = mutations();

  it('covers both verdicts: many mutations are valid, many are not', () => {
    const valid = cases.filter((c) => ProbePacketSchema.safeParse(c).success).length;
    expect(cases.length).toBeGreaterThan(1_000);
    expect(valid).toBeGreaterThan(100);
    expect(cases.length - valid).toBeGreaterThan(500);
    // And the fast path takes most valid ones itself (else it saves nothing).
    expect(cases.filter((c) => probeShape(c) !== undefined).length).toBeGreaterThan(valid / 2);
  });

  it('accepts nothing the schema refuses, and what it accepts is what the schema outputs', () => {
    for (const c of cases) {
      const fast = probeShape(c);
      if (fast === undefined) continue;
      const z = ProbePacketSchema.safeParse(c);
      expect(z.success, JSON.stringify(c)).toBe(true);
      expect(fast).toStrictEqual(z.data);
    }
  });

  it('takes the common probes itself: a full one and a bare one', () => {
    expect(probeShape(full())).toBeDefined();
    expect(probeShape({ seq: 0, sent_at_ms: 0, direction: 's2c', conn_id: 'c' })).toBeDefined();
  });

  it('parseProbe gives the schema verdict on every mutation sent as text', () => {
    for (const c of cases) {
      const text = JSON.stringify(c);
      if (text === undefined) continue;
      const z = ProbePacketSchema.safeParse(JSON.parse(text));
      const p = parseProbe(text);
      expect(p === null, text).toBe(!z.success);
      if (p) expect(p).toStrictEqual(z.data);
    }
  });
});
