// `npm run build:page`: bundles the page into edge/assets/ (index.html, app.js, app.css), which the edge serves.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const ROOT = resolve(import.meta.dirname, '..');

export interface PageBuild {
  /** Bytes of each file written, raw and gzipped. */
  files: Record<string, { bytes: number; gzip: number }>;
  bytes: number;
  gzip: number;
}

/** Bundles and minifies the page (no source maps, no third-party URLs) into `outDir`. */
export async function buildPage(outDir = join(ROOT, 'edge/assets')): Promise<PageBuild> {
  await mkdir(outDir, { recursive: true });
  // Before any page code: the page runs under a CSP without 'unsafe-eval' (edge/security.ts).
  const js = await bundleScript('page/main.ts', [join(ROOT, 'page/csp.ts')]);
  const worker = await bundleScript('page/tick-worker.ts');
  const css = await build({
    stdin: {
      contents: `@import "uplot/dist/uPlot.min.css";\n${await readFile(join(ROOT, 'page/styles.css'), 'utf8')}`,
      resolveDir: ROOT,
      loader: 'css',
    },
    bundle: true,
    minify: true,
    write: false,
    logLevel: 'warning',
  });
  const out: Record<string, Uint8Array | string> = {
    'index.html': await readFile(join(ROOT, 'page/index.html'), 'utf8'),
    'app.js': js,
    'tick-worker.js': worker,
    'app.css': css.outputFiles[0]!.contents,
  };
  const files: PageBuild['files'] = {};
  for (const [name, data] of Object.entries(out)) {
    await writeFile(join(outDir, name), data);
    const buf = typeof data === 'string' ? Buffer.from(data) : Buffer.from(data);
    files[name] = { bytes: buf.length, gzip: gzipSync(buf).length };
  }
  const sum = (k: 'bytes' | 'gzip') => Object.values(files).reduce((n, f) => n + f[k], 0);
  return { files, bytes: sum('bytes'), gzip: sum('gzip') };
}

/** One browser script, bundled and minified as an ES module (no source maps, no third-party URLs). */
async function bundleScript(entry: string, inject: string[] = []): Promise<Uint8Array> {
  const out = await build({
    entryPoints: [join(ROOT, entry)],
    inject,
    bundle: true,
    minify: true,
    format: 'esm',
    target: 'es2020',
    platform: 'browser',
    write: false,
    legalComments: 'none',
    logLevel: 'warning',
  });
  return out.outputFiles[0]!.contents;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = await buildPage();
  for (const [name, f] of Object.entries(r.files)) console.log(`  ${name.padEnd(11)} ${(f.bytes / 1024).toFixed(1).padStart(7)} KiB  (${(f.gzip / 1024).toFixed(1)} KiB gzip)`);
  console.log(`page bundle: ${(r.bytes / 1024).toFixed(1)} KiB, ${(r.gzip / 1024).toFixed(1)} KiB gzipped → edge/assets/`);
}
