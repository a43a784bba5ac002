// Survey export through the edge in workerd: rows per second of a 1,000,000-row CSV export, and workerd's
// resident memory (at rest, at its peak during the export) read from /proc while the rows stream.
import { startTestDb } from '../test/helpers/system.js';
import { startTestEdge } from '../test/helpers/edge.js';
import { setUpPrincipals } from '../test/helpers/principals.js';
import { seedManyMetricRows, tallyLines } from '../test/helpers/big-export.js';
import { findWorkerdPid, readMemory, watchMemory } from '../test/helpers/workerd-memory.js';

const ROWS = 1_000_000;

/** One 1,000,000-row CSV export as an analyst of the key: speed and the edge's peak memory. */
export async function benchConsoleExport(): Promise<Record<string, number | string>> {
  const db = await startTestDb();
  // Measures the stream itself, so the inline limit (EXPORT_INLINE_MAX_ROWS, 200,000 by default) is raised to the row count.
  const edge = await startTestEdge({ libsqlUrl: db.url, libsqlAuthToken: db.authToken, vars: { EXPORT_INLINE_MAX_ROWS: String(ROWS) } });
  try {
    const p = await setUpPrincipals(db.db, edge.url, 'bench');
    const seed0 = performance.now();
    await seedManyMetricRows(db.db, 'bench-export-0001', p.keyA.key, ROWS);
    const seedS = (performance.now() - seed0) / 1000;
    const pid = findWorkerdPid();
    const rest = readMemory(pid).rss;
    const t0 = performance.now();
    const { result, memory } = await watchMemory(pid, async () => {
      const resp = await fetch(`${edge.url}/api/surveys/export?key_id=${p.keyA.key_id}&format=csv`, { headers: { cookie: p.cookie.analystOfKey } });
      if (resp.status !== 200 || !resp.body) throw new Error(`export answered ${resp.status}: ${await resp.text()}`);
      return tallyLines(resp.body);
    });
    const seconds = (performance.now() - t0) / 1000;
    if (result.lines !== ROWS + 1) throw new Error(`export had ${result.lines - 1} rows, not ${ROWS}`);
    const mb = (n: number) => n / 1024 / 1024;
    return {
      'seed 1,000,000 metric rows (s)': seedS,
      'export rows': ROWS,
      'export CSV size (MB)': mb(result.bytes),
      'export time (s)': seconds,
      'export rows/s': Math.round(ROWS / seconds),
      'export MB/s': mb(result.bytes) / seconds,
      'workerd RSS at rest (MB)': mb(rest),
      'workerd peak RSS during export (MB)': mb(memory.peakRss),
      'workerd peak over rest (MB)': mb(memory.peakRss - rest),
      'peak measured by': memory.kernelPeak ? 'kernel peak mark (VmHWM reset)' : `highest of ${memory.samples} samples`,
    };
  } finally {
    await edge.close();
    await db.close();
  }
}
