// Pieces of a probe's JSON text, written directly by the sender (endpoint.ts) instead of building objects for
// JSON.stringify on every probe. Each piece is exactly what JSON.stringify writes for the same value.
import type { Direction } from '../protocol/probe.js';

/** A number as JSON.stringify writes it (non-finite ones as null). */
export function jsonNumber(v: number): string {
  return Number.isFinite(v) ? String(v) : 'null';
}

/** The constant fields after `sent_at_ms`: `,"direction":…,"conn_id":…`. */
export function probeFieldsText(direction: Direction, connId: string): string {
  return `,"direction":${JSON.stringify(direction)},"conn_id":${JSON.stringify(connId)}`;
}

/** One echo object: `{"seq":…,"sent_at_ms":…,"held_ms":…}`. */
export function echoText(seq: number, sentAtMs: number, heldMs: number): string {
  return `{"seq":${jsonNumber(seq)},"sent_at_ms":${jsonNumber(sentAtMs)},"held_ms":${jsonNumber(heldMs)}}`;
}
