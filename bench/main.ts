// `npm run bench`: capacity and speed, measured side by side in one run so the
// printed ratios hold on a shared, noisy machine where absolute numbers don't.
import { benchRelay } from './relay.js';
import { benchEdge } from './edge.js';
import { benchNoise } from './noise.js';
import { benchConsoleExport } from './console-export.js';
import { benchConsoleList } from './console-list.js';
import { benchClientCost } from './client-cost.js';
import { cpus } from 'node:os';

type Bench = { name: string; run: () => Promise<Record<string, number | string>> };

const benches: Bench[] = [
  { name: 'relay', run: benchRelay },
  { name: 'edge', run: benchEdge },
  { name: 'noise', run: () => benchNoise() },
  { name: 'console-list', run: benchConsoleList },
  { name: 'console-export', run: benchConsoleExport },
  { name: 'client-cost', run: benchClientCost },
];

const only = process.argv[2];
let failed = false;
process.stdout.write(`machine: ${cpus()[0]?.model ?? 'unknown cpu'}, ${cpus().length} cores\n`);
for (const b of benches) {
  if (only && b.name !== only) continue;
  process.stdout.write(`\n== ${b.name} ==\n`);
  try {
    const result = await b.run();
    for (const [k, v] of Object.entries(result)) {
      process.stdout.write(`  ${k.padEnd(48)} ${typeof v === 'number' ? formatNumber(v) : v}\n`);
    }
  } catch (e) {
    failed = true;
    process.stdout.write(`  FAILED: ${(e as Error).stack ?? e}\n`);
  }
}
process.exit(failed ? 1 : 0);

function formatNumber(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toFixed(3);
}
