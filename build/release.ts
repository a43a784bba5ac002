// `npm run build`: the relay release. Compiles the relay and every CLI (each cli/*.ts) with what they import from
// this repository to plain JavaScript in dist/, module for module (dist/relay/main.js, dist/cli/keys.js, …), so
// `node dist/relay/main.js` runs from a production install (`npm ci --omit=dev`). Packages stay imports from
// node_modules; the build fails when one of them is not in "dependencies".
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { missingFromDependencies, runtimePackages } from './runtime-imports.js';

const ROOT = resolve(import.meta.dirname, '..');

/** The relay, its capture worker (started by URL from relay/capture/capture-writer.ts, so no import reaches it), and every cli/*.ts. */
export function releaseEntries(): string[] {
  const clis = readdirSync(join(ROOT, 'cli'))
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
    .sort()
    .map((f) => `cli/${f}`);
  return ['relay/main.ts', 'relay/capture/pcapng-worker.ts', ...clis];
}

/** Compiles the release into `outDir` (emptied first); returns the source files compiled and the packages they import. */
export async function buildRelease(outDir = join(ROOT, 'dist')): Promise<{ sources: string[]; packages: string[] }> {
  // A bundle that is never written: its metafile lists every source file the entries reach, and each package import.
  const graph = await build({
    absWorkingDir: ROOT,
    entryPoints: releaseEntries(),
    bundle: true,
    packages: 'external',
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outdir: outDir,
    write: false,
    metafile: true,
    logLevel: 'warning',
  });
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
  const packages = runtimePackages(graph.metafile);
  const missing = missingFromDependencies(packages, pkg.dependencies ?? {});
  if (missing.length > 0) throw new Error(`the release would not start from a production install:\n  ${missing.join('\n  ')}`);

  // Module for module, not one bundle: paths that code resolves from its own URL (the capture worker) stay true.
  const sources = Object.keys(graph.metafile.inputs).sort();
  rmSync(outDir, { recursive: true, force: true });
  await build({
    absWorkingDir: ROOT,
    entryPoints: sources,
    outbase: '.',
    outdir: outDir,
    bundle: false,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    logLevel: 'warning',
  });
  return { sources, packages: [...packages.keys()].sort() };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    const r = await buildRelease();
    console.log(`release: ${r.sources.length} modules → dist/ (run: node dist/relay/main.js; CLIs: node dist/cli/<name>.js)`);
    console.log(`packages imported at run time, all in "dependencies": ${r.packages.join(', ')}`);
  } catch (e) {
    console.error(`build: ${(e as Error).message}`);
    process.exitCode = 1;
  }
}
