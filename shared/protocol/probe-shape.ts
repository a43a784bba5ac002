// parseProbe's fast path. The zod schema (probe.ts) is the definition of a valid probe, but on a relay it costs
// about as much as the JSON.parse before it for every probe (profiled: ~4-10 µs of a probe's ~10-25 µs of
// parsing), because a probe's nested objects and echo array each take zod's general path. This check accepts
// only what that schema accepts, unchanged (no unknown keys to strip, every value already in range), so its
// answer is the schema's answer; anything it does not accept goes to the schema, which decides. A unit test
// pins the two together on valid and mutated probes (test/unit/probe-shape.test.ts).
import type { ProbePacket } from './probe.js';

/** `o` itself when it is a probe exactly as ProbePacketSchema would output it; undefined when zod must decide. */
export function probeShape(o: unknown): ProbePacket | undefined {
  if (!isPlain(o)) return undefined;
  let keys = 0;
  for (const k in o) {
    keys++;
    if (!PACKET_KEYS.has(k)) return undefined;
  }
  const p = o as Record<string, unknown>;
  let expected = 4;
  if (!isSeq(p.seq) || !isEpoch(p.sent_at_ms) || (p.direction !== 'c2s' && p.direction !== 's2c')) return undefined;
  const c = p.conn_id;
  if (typeof c !== 'string' || c.length < 1 || c.length > 64) return undefined;
  if ('feedback' in p) {
    expected++;
    if (!isFeedback(p.feedback)) return undefined;
  }
  if ('echo' in p) {
    expected++;
    if (!isEcho(p.echo)) return undefined;
  }
  if ('echoes' in p) {
    expected++;
    const list = p.echoes;
    if (!Array.isArray(list) || list.length > MAX_ECHOES_SHAPE) return undefined;
    for (let k = 0; k < list.length; k++) if (!isEcho(list[k])) return undefined;
  }
  if ('send_ms' in p) {
    expected++;
    if (!isSendReport(p.send_ms)) return undefined;
  }
  return keys === expected ? (o as ProbePacket) : undefined;
}

/** Mirrors MAX_ECHOES in probe.ts (not imported: probe.ts imports this module). */
const MAX_ECHOES_SHAPE = 16;
const PACKET_KEYS = new Set(['seq', 'sent_at_ms', 'direction', 'conn_id', 'feedback', 'echo', 'echoes', 'send_ms']);

function isPlain(o: unknown): o is object {
  return typeof o === 'object' && o !== null && !Array.isArray(o) && Object.getPrototypeOf(o) === Object.prototype;
}

function isSeq(v: unknown): boolean {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function isEpoch(v: unknown): boolean {
  return typeof v === 'number' && v >= 0 && v <= 1e13;
}

function inRange(v: unknown, lo: number, hi: number): boolean {
  return typeof v === 'number' && v >= lo && v <= hi;
}

/** A plain object with exactly `n` own enumerable keys (each checked by the caller). */
function hasKeys(o: unknown, n: number): o is Record<string, unknown> {
  if (!isPlain(o)) return false;
  let keys = 0;
  for (const k in o) {
    keys++;
    if (keys > n || k === '__proto__') return false;
  }
  return keys === n;
}

function isFeedback(o: unknown): boolean {
  return (
    hasKeys(o, 4) &&
    typeof o.highest_seq === 'number' &&
    Number.isSafeInteger(o.highest_seq) &&
    o.highest_seq >= -1 &&
    isEpoch(o.highest_seq_received_at_ms) &&
    isSeq(o.recent_count) &&
    isSeq(o.recent_reorders)
  );
}

function isEcho(o: unknown): boolean {
  return hasKeys(o, 3) && isSeq(o.seq) && isEpoch(o.sent_at_ms) && inRange(o.held_ms, 0, 60_000);
}

function isSendReport(o: unknown): boolean {
  return hasKeys(o, 3) && isSeq(o.seq) && inRange(o.ms, 0, 1_000) && inRange(o.est_ms, 0, 1_000);
}
