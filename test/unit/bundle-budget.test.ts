// The Workers bundle check: which of wrangler's output files count, and the verdict against the budget.
import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { budgetVerdict, EDGE_BUNDLE_BUDGET_BYTES, measureBundle } from '../../build/bundle-budget.js';

const text = (s: string) => new TextEncoder().encode(s);

describe('edge bundle budget', () => {
  it('counts the modules wrangler wrote, not their source maps or README, raw and gzipped', () => {
    const js = text('export default { fetch() { return new Response("ok"); } };\n'.repeat(200));
    const wasm = randomBytes(3000);
    const size = measureBundle([
      { name: 'index.js', data: js },
      { name: 'index.js.map', data: randomBytes(50_000) },
      { name: 'README.md', data: text('This folder contains the built output assets for the worker') },
      { name: 'abc123-module.wasm', data: wasm },
    ]);
    expect(size.files.map((f) => f.name)).toEqual(['abc123-module.wasm', 'index.js']);
    expect(size.bytes).toBe(js.byteLength + wasm.byteLength);
    expect(size.gzip).toBe(gzipSync(js).byteLength + gzipSync(wasm).byteLength);
    // Repetitive code compresses; random bytes do not.
    expect(size.files[1]!.gzip).toBeLessThan(js.byteLength / 10);
  });

  it('passes at or under the budget and fails over it, naming both sizes', () => {
    const at = (gzip: number) => ({ files: [{ name: 'index.js', bytes: gzip * 4, gzip }], bytes: gzip * 4, gzip });
    expect(EDGE_BUNDLE_BUDGET_BYTES).toBe(512 * 1024);
    expect(budgetVerdict(at(136 * 1024))).toEqual({ ok: true, message: 'edge bundle: 544.0 KiB, 136.0 KiB gzipped; budget 512.0 KiB gzipped: OK' });
    expect(budgetVerdict(at(512 * 1024)).ok).toBe(true);
    expect(budgetVerdict(at(512 * 1024 + 1)).ok).toBe(false);
    expect(budgetVerdict(at(600 * 1024))).toEqual({ ok: false, message: 'edge bundle: 2400.0 KiB, 600.0 KiB gzipped; budget 512.0 KiB gzipped: OVER by 88.0 KiB' });
    expect(budgetVerdict(at(1000), 999).ok).toBe(false);
    expect(budgetVerdict({ files: [], bytes: 0, gzip: 0 })).toEqual({ ok: false, message: 'edge bundle: wrangler wrote no module' });
  });
});
