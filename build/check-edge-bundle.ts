// `npm run check:edge-bundle` (CI runs it before the tests): builds the page, has wrangler build the Workers
// bundle as `wrangler deploy` would (--dry-run: nothing is uploaded, no account needed) into a temp dir, and
// fails when the gzipped bundle exceeds EDGE_BUNDLE_BUDGET_BYTES. Prints the sizes either way.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { buildPage } from '../page/build.js';
import { budgetVerdict, measureBundle } from './bundle-budget.js';

const ROOT = resolve(import.meta.dirname, '..');

/** Runs wrangler's dry-run deploy into `outDir`; rejects with its output when it fails. */
function dryRunDeploy(outDir: string): Promise<void> {
  const child = spawn(join(ROOT, 'node_modules/.bin/wrangler'), ['deploy', '--dry-run', '--outdir', outDir], {
    cwd: ROOT,
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  return new Promise((done, fail) => {
    child.once('error', fail);
    child.once('exit', (code) => (code === 0 ? done() : fail(new Error(`wrangler deploy --dry-run exited with ${code}:\n${output}`))));
  });
}

async function main(): Promise<number> {
  // The assets directory wrangler.toml names must exist, built as a deploy builds it.
  await buildPage();
  const outDir = mkdtempSync(join(tmpdir(), 'netpoke-edge-bundle-'));
  try {
    await dryRunDeploy(outDir);
    const size = measureBundle(readdirSync(outDir).map((name) => ({ name, data: readFileSync(join(outDir, name)) })));
    for (const f of size.files) console.log(`  ${f.name}  ${(f.bytes / 1024).toFixed(1)} KiB, ${(f.gzip / 1024).toFixed(1)} KiB gzipped`);
    const verdict = budgetVerdict(size);
    (verdict.ok ? console.log : console.error)(verdict.message);
    return verdict.ok ? 0 : 1;
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
}

try {
  process.exitCode = await main();
} catch (e) {
  console.error(`check:edge-bundle: ${(e as Error).message}`);
  process.exitCode = 1;
}
