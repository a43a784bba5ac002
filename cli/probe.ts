// `npm run probe -- --url http://127.0.0.1:8787 --key KEY --duration 30s [--json] [--family v4|v6|both] [--paths N] [--throughput] [--upload] [--relay-only]`:
// the headless NetPoke client. Runs one survey and prints per-second stats of both directions, then a summary.
import { parseArgs } from 'node:util';
import * as z from 'zod';
import { SurveyError } from '../client/signaling.js';
import { describeZodError } from '../shared/protocol/errors.js';
import { summarizeSurvey, type SurveySummary } from '../client/summary.js';
import { emptyDirectionStats, type DirectionStats } from '../shared/stats/index.js';
import { parseDuration } from './duration.js';
import { runProbe, type RunProbeResult, type StatsEvent } from './run-probe.js';
import { traceLines } from '../shared/path/hop-text.js';
import { summarizePaths, type PathRow } from '../client/path-summary.js';
import type { IpFamily } from '../shared/ip-family.js';
import { MAX_PATHS_PER_FAMILY } from '../shared/protocol/signaling.js';
import { chooseFamilies, familiesOfHost, isLoopbackUrl } from './client-families.js';

const ArgsSchema = z.object({
  url: z.url(),
  key: z.string().min(1, 'the magic key is required (--key)'),
  duration: z.string().transform((s, ctx) => {
    const ms = parseDuration(s);
    if (ms === null || ms < 1000 || ms > 24 * 3600_000) {
      ctx.addIssue({ code: 'custom', message: 'a duration like 30s, 5m or 1h (1 s .. 24 h)' });
      return z.NEVER;
    }
    return ms;
  }),
  // --paths, or --connections, its older name (connections per family).
  paths: z.coerce.number().int().min(1).max(MAX_PATHS_PER_FAMILY).optional(),
  connections: z.coerce.number().int().min(1).max(MAX_PATHS_PER_FAMILY).optional(),
  family: z.enum(['v4', 'v6', 'both']).optional(),
  json: z.boolean(),
  throughput: z.boolean(),
  upload: z.boolean(),
  'relay-only': z.boolean(),
});

const USAGE =
  'usage: npm run probe -- --url http://127.0.0.1:8787 --key KEY [--duration 30s] [--family v4|v6|both] [--paths 1..16] [--throughput] [--upload] [--relay-only] [--json]\n' +
  '  --family: the address families measured side by side (default: both where this machine has both, toward an edge not on loopback)\n' +
  '  --paths: connections per family, each its own 5-tuple (--connections is the same)';

/** Exit codes: 0 ok, 1 failure while measuring, 2 bad arguments or refused key. */
async function main(): Promise<number> {
  let raw;
  try {
    raw = parseArgs({
      options: {
        url: { type: 'string', default: 'http://127.0.0.1:8787' },
        key: { type: 'string', default: '' },
        duration: { type: 'string', default: '30s' },
        connections: { type: 'string' },
        paths: { type: 'string' },
        family: { type: 'string' },
        json: { type: 'boolean', default: false },
        throughput: { type: 'boolean', default: false },
        // Upload throughput (this client sends bulk data); with --throughput, both ways at once.
        upload: { type: 'boolean', default: false },
        // Only TURN-relayed paths: checks that a network blocking direct UDP can still measure.
        'relay-only': { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
    }).values;
  } catch (e) {
    console.error(`${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  if (raw.help) {
    console.log(USAGE);
    return 0;
  }
  const parsed = ArgsSchema.safeParse(raw);
  if (!parsed.success) {
    console.error(`--${describeZodError(parsed.error)}\n${USAGE}`);
    return 2;
  }
  const args = parsed.data;
  const paths = args.paths ?? args.connections ?? 1;
  const loopbackEdge = isLoopbackUrl(args.url);
  const { families, missing } = chooseFamilies(args.family, familiesOfHost(loopbackEdge), loopbackEdge);
  const abort = new AbortController();
  process.once('SIGINT', () => abort.abort());
  const held = families !== undefined;
  if (!args.json) {
    const which = families ? `${families.map((f) => FAMILY_NAMES[f]).join(' and ')}, ${paths} path${paths > 1 ? 's' : ''} each` : `${paths} connection${paths > 1 ? 's' : ''}`;
    console.log(`NetPoke survey against ${args.url} for ${args.duration / 1000} s (${which}${args['relay-only'] ? ', through TURN only' : ''}); Ctrl-C stops early.`);
  }
  for (const m of missing) reportUnavailable(args.json, { family: m.family, code: 'family_unavailable', reason: m.reason });
  if (families && families.length === 0) {
    console.error('netpoke: family_unavailable: no address family asked for can be measured from this machine');
    return 1;
  }
  if (!args.json) console.log(held ? `fam  path ${HEADER}` : HEADER);
  let reported = false;
  try {
    const result = await runProbe({
      url: args.url,
      key: args.key,
      durationMs: args.duration,
      paths,
      ...(families ? { families } : {}),
      throughput: args.throughput,
      upload: args.upload,
      relayOnly: args['relay-only'],
      abort: abort.signal,
      onEvent: (e) => {
        if (e.type === 'status' && e.status === 'stopping' && e.reason === 'time_limit' && !args.json) {
          console.log(`netpoke: ${STOPPED_BY.time_limit}; stopping the survey (its last second and the capture follow)`);
        }
        if (e.type === 'path_trace') {
          // The relay's trace of the path toward this client, when it comes (at the start, then every minute).
          if (args.json) console.log(JSON.stringify({ path_trace: e.trace }));
          else console.log(['path toward this client (from the relay):', ...traceLines(e.trace).map((l) => `  ${l}`)].join('\n'));
        }
        if (e.type === 'family_unavailable') reportUnavailable(args.json, e);
        if (e.type === 'connection' && args.json) console.log(JSON.stringify(e));
        if (e.type === 'stats') {
          // Placed by the window's index, not by the wall clock: a late or missing relay window never shifts a row.
          console.log(args.json ? JSON.stringify({ second: e.window_index, ...e }) : prefixed(held, e, row(e.window_index, e)));
        }
        if (e.type === 'relay_window') {
          console.log(args.json ? JSON.stringify({ second: e.window_index, ...e }) : prefixed(held, e, lateRow(e.window_index, e.c2s)));
        }
        if (e.type === 'throughput') console.log(args.json ? JSON.stringify(e) : `-- ${e.message}`);
        if (e.type === 'error') {
          reported = true;
          console.error(`netpoke: ${e.code}: ${e.message}`);
        }
      },
    });
    const summary = {
      survey_session_id: result.surveySessionId,
      conn_ids: result.connIds,
      seconds: result.seconds.length,
      stopped_by: result.stoppedBy,
      pcap_available: result.pcapAvailable,
      ...summarizeSurvey(result.seconds, result.responsiveness, result.relayOnly),
    };
    const perPath = summarizePaths(result.seconds);
    if (args.json) console.log(JSON.stringify({ summary: { ...summary, paths: result.paths, unavailable: result.unavailable, per_path: perPath } }));
    else {
      printSummary(summary);
      if (perPath.length > 1 || held) printPaths(perPath);
    }
    // A throughput test that stalled or failed was asked for and not measured: that is a failure too.
    return result.stoppedBy === 'error' || result.throughputFailed ? 1 : 0;
  } catch (e) {
    const err = e instanceof SurveyError ? e : null;
    if (!reported) console.error(`netpoke: ${err ? `${err.code}: ${err.message}` : String((e as Error)?.message ?? e)}`);
    return err && /^key_|auth_required|rate_limited/.test(err.code) ? 2 : 1;
  }
}

const HEADER = [
  'sec',
  'dir',
  'probes',
  'loss%',
  'reord%',
  'dev p50',
  'dev p99',
  'jit p50',
  'rtt p50',
  'rtt p99',
  'Mbit/s',
].map((h, i) => (i < 2 ? h.padEnd(4) : h.padStart(8))).join(' ');

/** One direction's row of a second; "load": the throughput test's connection carried traffic in it (the loaded seconds RPM is taken from). */
function line(sec: number, dir: 'c2s' | 's2c', s: DirectionStats, bytes: number | undefined): string {
  return (
    `${[
      String(sec).padEnd(4),
      dir.padEnd(4),
      // No baseline yet: the deviation columns show a dash, not a number measured against nothing.
      ...[s.probe_count, s.loss_rate, s.reorder_rate, s.delay_deviation_ms?.[0] ?? null, s.delay_deviation_ms?.[1] ?? null, s.jitter_ms[0], s.rtt_ms[0], s.rtt_ms[1], ((bytes ?? 0) * 8) / 1e6].map((v, i) =>
        (v === null ? '–' : i === 0 ? String(v) : v.toFixed(i <= 2 ? 1 : 3)).padStart(8),
      ),
    ].join(' ')}${s.loaded ? '  load' : ''}`
  );
}

function row(sec: number, e: StatsEvent): string {
  // A second whose relay window has not come shows a dash row and why, rather than zeros.
  const c2s = e.c2s ? line(sec, 'c2s', e.c2s, e.throughput?.c2s_bytes_per_s) : `${line(sec, 'c2s', emptyDirectionStats(), 0).slice(0, 9)}${'–'.padStart(8)}  (${e.c2s_missing ?? 'relay window not received'})`;
  return `${c2s}\n${line(sec, 's2c', e.s2c, e.throughput?.s2c_bytes_per_s)}${e.own_paused_ms > 0 ? `  (client paused ${e.own_paused_ms} ms)` : ''}`;
}

/** A relay window that came after its second was printed: its own row, marked, under that second's number. */
function lateRow(sec: number, c2s: DirectionStats): string {
  return `${line(sec, 'c2s', c2s, undefined)}  (late relay window of second ${sec})`;
}

const FAMILY_NAMES: Record<IpFamily, string> = { ipv4: 'IPv4', ipv6: 'IPv6' };
const SHORT: Record<IpFamily, string> = { ipv4: 'v4', ipv6: 'v6' };

/** A family left out of the survey: a line in words, or a `family_unavailable` JSON line. */
function reportUnavailable(json: boolean, u: { family: IpFamily; code: string; reason: string }): void {
  if (json) console.log(JSON.stringify({ type: 'family_unavailable', family: u.family, code: u.code, reason: u.reason }));
  else console.log(`netpoke: ${FAMILY_NAMES[u.family]} unavailable, measuring without it: ${u.reason}`);
}

/** Each line of a second's rows, led by its family and path when the survey holds connections to families. */
function prefixed(held: boolean, e: { family?: IpFamily; path_index?: number }, text: string): string {
  if (!held) return text;
  const lead = `${(e.family ? SHORT[e.family] : '?').padEnd(4)} ${String(e.path_index ?? 0).padEnd(4)} `;
  return text
    .split('\n')
    .map((l) => lead + l)
    .join('\n');
}

/** The per-path table: loss, RTT p50/p99 and delay variation (|IPDV| p50/p99) per family and path, a path well off its family's others marked. */
function printPaths(rows: readonly PathRow[]): void {
  console.log('\nper path (loss over settled probes; RTT and delay variation p50/p99 in ms):');
  console.log(['fam', 'path', 'dir', 'loss%', 'rtt p50', 'rtt p99', 'ipdv p50', 'ipdv p99'].map((h, i) => (i < 3 ? h.padEnd(4) : h.padStart(9))).join(' '));
  for (const r of rows) {
    for (const dir of ['c2s', 's2c'] as const) {
      const d = r[dir];
      const cells = [d.loss_rate.toFixed(2), d.rtt_ms[0].toFixed(3), d.rtt_ms[1].toFixed(3), d.jitter_ms[0].toFixed(3), d.jitter_ms[1].toFixed(3)].map((v) => v.padStart(9));
      const approx = d.percentiles === 'per_second_approx' ? '  (p50/p99 approximate: some seconds carried no sketch)' : '';
      const mark = `${approx}${r.stands_out && dir === 's2c' ? '  <-- stands out from its family' : ''}`;
      console.log(`${(r.family ? SHORT[r.family] : '-').padEnd(4)} ${String(r.path_index).padEnd(4)} ${dir.padEnd(4)} ${cells.join(' ')}${mark}`);
    }
  }
}

/** How a survey ended, in words. */
const STOPPED_BY: Record<RunProbeResult['stoppedBy'], string> = {
  duration: 'stopped by duration',
  abort: 'stopped early (Ctrl-C)',
  time_limit: 'the measuring time of this key is used up',
  error: 'ended by an error',
};

function printSummary(s: SurveySummary & { survey_session_id: string; seconds: number; stopped_by: RunProbeResult['stoppedBy']; pcap_available: boolean }): void {
  console.log(`\nsurvey ${s.survey_session_id}: ${s.seconds} s measured, ${STOPPED_BY[s.stopped_by]}, capture ${s.pcap_available ? 'saved' : 'not saved'}`);
  for (const dir of ['c2s', 's2c'] as const) {
    const d = s[dir];
    console.log(
      // Received counts every arrival; loss is over the seqs settled (an abrupt end leaves the last ones unsettled).
      `  ${dir}: ${d.probe_count} probes received, loss ${d.loss_rate.toFixed(2)} % of ${d.probes_expected ?? d.probe_count} settled, reorder ${d.reorder_rate.toFixed(2)} %, ` +
        `delay deviation p50/p99 ${d.delay_deviation_ms ? `${d.delay_deviation_ms[0].toFixed(3)}/${d.delay_deviation_ms[1].toFixed(3)} ms` : '– (no unloaded baseline)'}, ` +
        `jitter p50 ${d.jitter_ms[0].toFixed(3)} ms, RTT p50/p99 ${d.rtt_ms[0].toFixed(3)}/${d.rtt_ms[1].toFixed(3)} ms` +
        (d.sender_paused_ms ? `, sender paused ${(d.sender_paused_ms / 1000).toFixed(1)} s (not counted as loss)` : '') +
        (d.percentiles === 'per_second_approx' ? ' (p50/p99 approximate: some seconds carried no sketch)' : ''),
    );
  }
  const rpm = s.responsiveness_rpm === null ? 'no throughput test' : `${Math.round(s.responsiveness_rpm)} RPM (trimmed mean of loaded round trips, draft-ietf-ippm-responsiveness)`;
  const rtt = (r: SurveySummary['rtt_idle_ms']) => (r ? `p50/p90 ${r.p50.toFixed(3)}/${r.p90.toFixed(3)} ms` : '–');
  console.log(`  latency: RTT idle ${rtt(s.rtt_idle_ms)}, under load ${rtt(s.rtt_loaded_ms)}; responsiveness ${rpm}`);
}

process.exitCode = await main();
// node-datachannel keeps native threads alive; leave once the survey is over.
setTimeout(() => process.exit(), 200).unref();
