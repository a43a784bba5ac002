// Per-second sketches end to end (issue 17 item 4): a real survey (headless client, relay, edge in workerd) stores
// sketches that hdr-histogram-js itself decodes, with counts equal to each row's probe_count; the survey detail says
// its percentiles are merged; and a crafted row's sketch comes back out of the CSV export with its samples' count
// and percentiles.
import * as hdr from 'hdr-histogram-js';
import { beforeAll, describe, expect, it } from 'vitest';
import { runProbe } from '../../cli/run-probe.js';
import { parseCsv } from '../../shared/csv.js';
import { METRIC_COLUMNS } from '../../shared/db/metric-export.js';
import { insertMetric } from '../../shared/db/surveys.js';
import { uuid } from '../../shared/ids.js';
import { createReceiver, recordProbe, recordRtt, takeReport } from '../../shared/stats/index.js';
import { SKETCH_FORMAT } from '../../shared/stats/sketch.js';
import { asPrincipal, setUpPrincipals, type Principals } from '../helpers/principals.js';
import { eventually, metricRows } from '../helpers/system.js';
import { useEdgeSystem } from '../helpers/use-system.js';

const sys = useEdgeSystem();
let p: Principals;

beforeAll(async () => {
  p = await setUpPrincipals(sys.db.db, sys.edge.url, 'sk');
}, 60_000);

const admin = (path: string) => asPrincipal(sys.edge.url, p, 'admin')('GET', path);

describe('sketches of a real survey', () => {
  it('every stored row carries sketches that hdr-histogram-js decodes, counts equal to probe_count; the detail says merged', async () => {
    const result = await runProbe({ url: sys.edge.url, key: p.keyA.key, durationMs: 4_000 });
    expect(result.stoppedBy).toBe('duration');
    const rows = await eventually(async () => {
      const all = await metricRows(sys.db.db, result.surveySessionId);
      const server = all.filter((r) => r.source === 'server' && r.direction === 'c2s');
      const client = all.filter((r) => r.source === 'client' && r.direction === 's2c');
      return server.length >= 3 && client.length >= 3 ? [...server, ...client] : null;
    });
    for (const r of rows) {
      expect(r.sketch_format).toBe(SKETCH_FORMAT);
      const delay = hdr.decodeFromCompressedBase64(String(r.delay_sketch));
      const ipdv = hdr.decodeFromCompressedBase64(String(r.ipdv_sketch));
      const rtt = hdr.decodeFromCompressedBase64(String(r.rtt_sketch));
      expect(delay.totalCount).toBe(Number(r.probe_count));
      // Each in-time pair of consecutive seqs gives one |IPDV|: at most one fewer than the probes.
      expect(ipdv.totalCount).toBeLessThanOrEqual(Number(r.probe_count));
      if (Number(r.rtt_max_ms) > 0) expect(rtt.totalCount).toBeGreaterThan(0);
    }
    // Full seconds carried about 100 probes, so the sketches hold real samples.
    expect(Math.max(...rows.map((r) => Number(r.probe_count)))).toBeGreaterThanOrEqual(80);

    const detail = (await (await admin(`/api/surveys/${result.surveySessionId}`)).json()) as { summaries: { c2s: { percentiles: string }; s2c: { percentiles: string } }[] };
    expect(detail.summaries).toHaveLength(1);
    expect(detail.summaries[0]!.c2s.percentiles).toBe('merged');
    expect(detail.summaries[0]!.s2c.percentiles).toBe('merged');
  });
});

describe('sketches in the export', () => {
  it("a crafted second's RTT sketch comes out of the CSV and the JSON; the package's own decoder gives its count and percentiles", async () => {
    // 200 RTT samples of 1, 2, …, 200 ms: nearest rank p50 = 100 ms, p99 = 198 ms.
    const r = createReceiver();
    recordProbe(r, 0, 0, 5);
    for (let v = 200; v >= 1; v--) recordRtt(r, v);
    const stats = takeReport(r, 1_000);
    const id = uuid();
    await sys.db.db.execute({
      sql: 'INSERT INTO survey_sessions (session_id, magic_key, start_time, last_update_time, created_at) VALUES (?, ?, 1, 1, 1)',
      args: [id, p.keyA.key],
    });
    await sys.db.db.execute(insertMetric({ session_id: id, conn_id: 'c', timestamp_ms: 1_000, source: 'server', direction: 'c2s', stats, row_key: `${id}/0` }, 1_000));

    const resp = await admin(`/api/surveys/${id}/metrics?format=csv`);
    expect(resp.status).toBe(200);
    const [header, row] = parseCsv(await resp.text());
    expect(header).toEqual([...METRIC_COLUMNS]);
    const cell = (name: string) => String(row![header!.indexOf(name)]);
    expect(cell('sketch_format')).toBe('hdr-histogram-js-3-b64');
    const rtt = hdr.decodeFromCompressedBase64(cell('rtt_sketch'));
    expect(rtt.totalCount).toBe(200);
    expect(Math.abs(rtt.getValueAtPercentile(50) / 1000 - 100)).toBeLessThanOrEqual(1);
    expect(Math.abs(rtt.getValueAtPercentile(99) / 1000 - 198)).toBeLessThanOrEqual(1.98);
    expect(hdr.decodeFromCompressedBase64(cell('delay_sketch')).totalCount).toBe(1);

    const json = (await (await admin(`/api/surveys/${id}/metrics`)).json()) as Record<string, unknown>[];
    expect(json[0]!.rtt_sketch).toBe(cell('rtt_sketch'));
    expect(json[0]!.sketch_format).toBe('hdr-histogram-js-3-b64');
  });
});
