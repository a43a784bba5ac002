// `npm run build:page`: bundles the page into edge/assets/ (index.html, app.js, app.css) and the console
// (console.html, console.js, console.css), which the edge serves.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const ROOT = resolve(import.meta.dirname, '..');

export interface PageBuild {
  /** Bytes of each file written, raw and gzipped. */
  files: Record<string, { bytes: number; gzip: number }>;
  /** The measurement page's files together (what a technician's phone downloads). */
  bytes: number;
  gzip: number;
  /** The console's files together. */
  console: { bytes: number; gzip: number };
}

const CONSOLE_FILES = new Set(['console.html', 'console.js', 'console.css']);

/** Bundles and minifies the page (no source maps, no third-party URLs) into `outDir`. */
export async function buildPage(outDir = join(ROOT, 'edge/assets')): Promise<PageBuild> {
  await mkdir(outDir, { recursive: true });
  // Before any page code: the page runs under a CSP without 'unsafe-eval' (edge/security.ts).
  const js = await bundleScript('page/main.ts', [join(ROOT, 'page/csp.ts')]);
  const worker = await bundleScript('page/tick-worker.ts');
  const styles = await readFile(join(ROOT, 'page/styles.css'), 'utf8');
  const out: Record<string, Uint8Array | string> = {
    'index.html': await readFile(join(ROOT, 'page/index.html'), 'utf8'),
    'app.js': js,
    'tick-worker.js': worker,
    'app.css': await bundleCss(`@import "uplot/dist/uPlot.min.css";\n${styles}`),
    // The console: same look (page/styles.css), its own script, and uPlot's styles for the survey charts.
    'console.html': await readFile(join(ROOT, 'page/console/console.html'), 'utf8'),
    'console.js': await bundleScript('page/console/main.ts', [join(ROOT, 'page/csp.ts')]),
    'console.css': await bundleCss(`@import "uplot/dist/uPlot.min.css";\n${styles}\n${await readFile(join(ROOT, 'page/console/console.css'), 'utf8')}`),
  };
  const files: PageBuild['files'] = {};
  for (const [name, data] of Object.entries(out)) {
    await writeFile(join(outDir, name), data);
    const buf = typeof data === 'string' ? Buffer.from(data) : Buffer.from(data);
    files[name] = { bytes: buf.length, gzip: gzipSync(buf).length };
  }
  const sum = (k: 'bytes' | 'gzip', ofConsole: boolean) =>
    Object.entries(files).reduce((n, [name, f]) => (CONSOLE_FILES.has(name) === ofConsole ? n + f[k] : n), 0);
  return { files, bytes: sum('bytes', false), gzip: sum('gzip', false), console: { bytes: sum('bytes', true), gzip: sum('gzip', true) } };
}

/** One stylesheet (imports resolved from the repository root), minified. */
async function bundleCss(contents: string): Promise<Uint8Array> {
  const out = await build({ stdin: { contents, resolveDir: ROOT, loader: 'css' }, bundle: true, minify: true, write: false, logLevel: 'warning' });
  return out.outputFiles[0]!.contents;
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
  for (const [name, f] of Object.entries(r.files)) console.log(`  ${name.padEnd(14)} ${(f.bytes / 1024).toFixed(1).padStart(7)} KiB  (${(f.gzip / 1024).toFixed(1)} KiB gzip)`);
  console.log(`page bundle: ${(r.bytes / 1024).toFixed(1)} KiB, ${(r.gzip / 1024).toFixed(1)} KiB gzipped → edge/assets/`);
  console.log(`console bundle: ${(r.console.bytes / 1024).toFixed(1)} KiB, ${(r.console.gzip / 1024).toFixed(1)} KiB gzipped → edge/assets/`);
}
