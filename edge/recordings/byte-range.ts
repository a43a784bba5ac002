// HTTP Range (RFC 9110 §14) for one byte range of a stored file: what video seeking asks for.

export type RangeResult = { kind: 'whole' } | { kind: 'range'; offset: number; length: number } | { kind: 'unsatisfiable' };

/** Reads a `Range` header against a file of `size` bytes; several ranges or other units are served whole, as the RFC allows. */
export function parseByteRange(header: string | null | undefined, size: number): RangeResult {
  if (!header) return { kind: 'whole' };
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (!m || (m[1] === '' && m[2] === '')) return { kind: 'whole' };
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0 || size === 0) return { kind: 'unsatisfiable' };
    const length = Math.min(suffix, size);
    return { kind: 'range', offset: size - length, length };
  }
  const start = Number(m[1]);
  if (start >= size) return { kind: 'unsatisfiable' };
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (end < start) return { kind: 'unsatisfiable' };
  return { kind: 'range', offset: start, length: end - start + 1 };
}
