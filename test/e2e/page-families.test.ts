// The page over both families on loopback (issue 22): 2 paths per family from Chromium, the family rows and the
// path table against the rows the relay stored (summed here from the database, not by the page's code), and a
// screenshot of the side-by-side view.
import { copyFileSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMagicKey, type MagicKey } from '../../shared/db/keys.js';
import { decodeSketch, mergeSketches, sketchQuad } from '../../shared/stats/sketch.js';
import { eventually, metricRows } from '../helpers/system.js';
import { ARTIFACTS, useBrowserStack } from '../helpers/use-browser-stack.js';

// One dual-stack relay socket answering on 127.0.0.1 and ::1.
const stack = useBrowserStack({ relayOverrides: { bindAddress: '::', publicAddresses: ['127.0.0.1', '::1'] } });
let key: MagicKey;
let dir: string;
beforeAll(async () => {
  key = await createMagicKey(stack.db.db, { label: 'families' });
  dir = mkdtempSync(join(tmpdir(), 'netpoke-page-families-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Row = Record<string, unknown>;
const num = (v: unknown) => Number(v ?? 0);
/** Loss by counts over rows (PROTOCOL §2): Σ lost / Σ expected, percent. */
const lossOf = (rows: Row[]) => {
  const expected = rows.reduce((n, r) => n + num(r.probes_expected), 0);
  return expected ? (rows.reduce((n, r) => n + num(r.lost_count), 0) / expected) * 100 : 0;
};
/**
 * A longer window's [p50, p99] of `metric` over the stored rows with samples (`has`): their stored sketches merged
 * (every such row must carry one, as this page's and this relay's do), held within the rows' min and max.
 */
const mergedOf = (rows: Row[], metric: 'rtt' | 'jitter', has: (r: Row) => boolean): [number, number] => {
  const sampled = rows.filter(has);
  const sketches = sampled.map((r) => decodeSketch(String(r[metric === 'rtt' ? 'rtt_sketch' : 'ipdv_sketch'])));
  if (sketches.some((x) => x === null)) throw new Error(`a stored ${metric} row without a sketch`);
  const min = Math.min(...sampled.map((r) => num(r[`${metric}_min_ms`])));
  const max = Math.max(...sampled.map((r) => num(r[`${metric}_max_ms`])));
  const [p50, p99] = sketchQuad([0, 0, min, max], mergeSketches(sketches.map((x) => x!)));
  return [p50, p99];
};
const rttOf = (rows: Row[]) => mergedOf(rows, 'rtt', (r) => num(r.rtt_max_ms) > 0);
const dvOf = (rows: Row[]) => mergedOf(rows, 'jitter', (r) => num(r.probe_count) > 0);

describe('measurement page: both families, 2 paths each', () => {
  it('shows a row per family and per path that match the stored rows, and saves the side-by-side view', async () => {
    const page = await stack.browser.newPage({ viewport: { width: 1400, height: 1800 } });
    await page.goto(`${stack.edge.url}/?key=${key.key}`);
    // On loopback both families count: the default is both.
    expect(await page.inputValue('#family')).toBe('both');
    await page.selectOption('#connections', '2');
    await page.click('#start');
    await page.waitForFunction(() => document.querySelector('#status')?.textContent?.startsWith('Measuring'), null, { timeout: 30_000 });
    // Every path has reported some 5 s of probes down.
    await page.waitForFunction(
      () => {
        const cells = [...document.querySelectorAll('#path-table tbody td[data-metric="probes"]')];
        return cells.length === 4 && cells.every((c) => Number(c.textContent) >= 400);
      },
      null,
      { timeout: 30_000 },
    );
    const surveyId = ((await page.locator('#session').textContent()) ?? '').replace('Survey ', '');
    await page.click('#stop');
    await page.waitForFunction(() => document.querySelector('#status')?.textContent?.startsWith('Stopped'), null, { timeout: 20_000 });

    const shot = join(dir, 'page-families.png');
    await page.locator('#families').screenshot({ path: shot });
    const png = readFileSync(shot);
    expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    expect(statSync(shot).size).toBeGreaterThan(20_000);
    copyFileSync(shot, join(ARTIFACTS, 'page-families.png'));

    const pathRows = await page.locator('#path-table tbody tr').evaluateAll((trs) =>
      trs.map((tr) => {
        const el = tr as HTMLTableRowElement;
        const read = (dir: string, metric: string) => el.querySelector(`td[data-dir="${dir}"][data-metric="${metric}"]`)?.textContent ?? '';
        return {
          family: el.dataset.family!,
          path: Number(el.dataset.path),
          conn: el.dataset.conn!,
          worst: el.classList.contains('worst'),
          probes: Number(el.querySelector('td[data-metric="probes"]')?.textContent),
          slip: Number(el.querySelector('td[data-metric="send_slip"]')?.textContent),
          pair: el.querySelector('td[data-metric="pair"]')?.textContent ?? '',
          loss_down: read('s2c', 'loss_rate'),
          loss_up: read('c2s', 'loss_rate'),
          rtt_p50_down: read('s2c', 'rtt_p50'),
          rtt_p99_down: read('s2c', 'rtt_p99'),
          rtt_p99_up: read('c2s', 'rtt_p99'),
          dv_p99_down: read('s2c', 'dv_p99'),
        };
      }),
    );
    expect(pathRows.map((r) => `${r.family}/${r.path}`)).toEqual(['ipv4/0', 'ipv4/1', 'ipv6/0', 'ipv6/1']);
    expect(pathRows.filter((r) => r.worst).length).toBeLessThanOrEqual(1);
    // Each path its own 5-tuple: the family's loopback address toward the relay's, from a port of its own.
    for (const r of pathRows) expect(r.pair, r.conn).toMatch(r.family === 'ipv4' ? /^127\.0\.0\.1:\d+ → 127\.0\.0\.1:\d+$/ : /^\[::1\]:\d+ → \[::1\]:\d+$/);
    expect(new Set(pathRows.map((r) => r.pair.split(' → ')[0])).size).toBe(4);

    // The relay stores the page's own windows (source client, s2c) and its own (server, c2s), each with family and path.
    // Once the survey has ended, the relay has written every connection's last window.
    await eventually(async () => {
      const rs = await stack.db.db.execute({ sql: 'SELECT end_time FROM survey_sessions WHERE session_id = ?', args: [surveyId] });
      return rs.rows[0]?.end_time !== null && rs.rows[0]?.end_time !== undefined;
    });
    const rows = await eventually(async () => {
      const r = await metricRows(stack.db.db, surveyId);
      const conns = new Set(r.filter((x) => x.source === 'server').map((x) => x.conn_id));
      return conns.size === 4 ? r : null;
    });
    for (const p of pathRows) {
      const client = rows.filter((r) => r.conn_id === p.conn && r.source === 'client' && r.direction === 's2c');
      const server = rows.filter((r) => r.conn_id === p.conn && r.source === 'server' && r.direction === 'c2s');
      expect(client.length, p.conn).toBeGreaterThanOrEqual(4);
      for (const r of [...client, ...server]) expect([r.family, num(r.path_index)], p.conn).toEqual([p.family, p.path]);
      // Down is this page's own measurement: the stored windows are exactly what it summed.
      expect(p.probes, p.conn).toBe(client.reduce((n, r) => n + num(r.probe_count), 0));
      expect(p.loss_down).toBe(lossOf(client).toFixed(2));
      // p50/p99 from the stored windows' merged sketches (issue 17), never the largest per-second p99; no `≈`.
      expect(p.rtt_p99_down).toBe(rttOf(client)[1].toFixed(3));
      expect(p.rtt_p50_down).toBe(rttOf(client)[0].toFixed(3));
      expect(p.dv_p99_down).toBe(dvOf(client)[1].toFixed(3));
      // Up is the relay's windows as they reached the page: never worse than the stored ones say.
      expect(Number(p.loss_up)).toBeLessThanOrEqual(Number(lossOf(server).toFixed(2)) + 0.01);
      expect(Number(p.rtt_p99_up)).toBeLessThanOrEqual(Math.max(...server.filter((r) => num(r.rtt_max_ms) > 0).map((r) => num(r.rtt_p99_ms))) * 1.01); // a sketch bucket's midpoint may be 1 % above
      // The page's send-slip of this connection is what its sender reports told the relay (stored per window).
      expect(Math.abs(p.slip - server.reduce((n, r) => n + num(r.sender_paused_ms), 0))).toBeLessThanOrEqual(20);
    }

    // A family's row: its two paths' windows by counts.
    for (const family of ['ipv4', 'ipv6']) {
      const row = page.locator(`#family-summary tbody tr[data-family="${family}"]`);
      expect(await row.locator('td[data-metric="paths"]').textContent()).toBe('2');
      const client = rows.filter((r) => r.family === family && r.source === 'client' && r.direction === 's2c');
      expect(await row.locator('td[data-dir="s2c"][data-metric="loss_rate"]').textContent()).toBe(lossOf(client).toFixed(2));
      expect(await row.locator('td[data-dir="s2c"][data-metric="rtt_p99"]').textContent()).toBe(rttOf(client)[1].toFixed(3));
    }
    // One line per family on each chart.
    const points = await page.locator('#family-charts figure.chart').evaluateAll((els) => els.map((e) => Number((e as HTMLElement).dataset.points)));
    expect(points).toHaveLength(3);
    for (const n of points) expect(n).toBeGreaterThanOrEqual(4);
    expect(await page.locator('#family-unavailable li').count()).toBe(0);
    await page.close();
  }, 120_000);
});
