// The Workers bundle's size against its budget: what `wrangler deploy --dry-run --outdir` wrote, gzipped.
import { gzipSync } from 'node:zlib';

/** The edge worker's budget, gzipped (Cloudflare counts the compressed upload; it was 136 KiB when this was set). */
export const EDGE_BUNDLE_BUDGET_BYTES = 512 * 1024;

export interface BundleSize {
  files: { name: string; bytes: number; gzip: number }[];
  bytes: number;
  gzip: number;
}

/** Sizes of the modules wrangler would upload: every file of its out dir but source maps and its README. */
export function measureBundle(files: { name: string; data: Uint8Array }[]): BundleSize {
  const modules = files
    .filter((f) => !f.name.endsWith('.map') && f.name !== 'README.md')
    .map((f) => ({ name: f.name, bytes: f.data.byteLength, gzip: gzipSync(f.data).byteLength }))
    .sort((a, b) => a.name.localeCompare(b.name));
  return { files: modules, bytes: modules.reduce((n, f) => n + f.bytes, 0), gzip: modules.reduce((n, f) => n + f.gzip, 0) };
}

/** Whether the bundle fits its budget, in one line that names both sizes. An empty bundle fails: the build went wrong. */
export function budgetVerdict(size: BundleSize, budgetBytes = EDGE_BUNDLE_BUDGET_BYTES): { ok: boolean; message: string } {
  const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`;
  if (size.files.length === 0) return { ok: false, message: 'edge bundle: wrangler wrote no module' };
  const line = `edge bundle: ${kib(size.bytes)}, ${kib(size.gzip)} gzipped; budget ${kib(budgetBytes)} gzipped`;
  return size.gzip <= budgetBytes ? { ok: true, message: `${line}: OK` } : { ok: false, message: `${line}: OVER by ${kib(size.gzip - budgetBytes)}` };
}
