// `npm run probe -- --throughput` as a user runs it (the CLI in its own process, through the edge in workerd): it says it
// measures an idle baseline first, the download flows in every loaded second, and the summary gives idle and loaded
// RTT p50/p90 and RPM.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { createMagicKey } from '../../shared/db/keys.js';
import { useEdgeSystem } from '../helpers/use-system.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

const sys = useEdgeSystem();
let key: string;

beforeAll(async () => {
  key = (await createMagicKey(sys.db.db, { label: 'cli throughput', ttlMs: 3_600_000 })).key;
});

/** Runs the CLI to its end; what it printed and its exit code. */
function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'cli/probe.ts', '--url', sys.edge.url, '--key', key, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, stdout, stderr })));
}

describe('npm run probe -- --throughput', () => {
  it('says it takes an idle baseline, moves data in every loaded second, and prints idle/loaded RTT and RPM', async () => {
    const out = await runCli(['--duration', '21s', '--throughput', '--json']);
    expect(out.code, out.stderr).toBe(0);
    const lines = out.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const said = lines.filter((l) => l.type === 'throughput').map((l) => l.message);
    expect(said[0]).toBe('measuring 3 s without load first (the idle baseline), then the throughput test starts');
    expect(said[1]).toBe('throughput test running (download) on its own connection');
    const seconds = lines.filter((l) => l.type === 'stats' && !l.final) as { s2c: { loaded: boolean }; throughput: { s2c_bytes_per_s: number } }[];
    const loaded = seconds.map((s) => s.s2c.loaded);
    const first = loaded.indexOf(true);
    const last = loaded.lastIndexOf(true);
    expect(first).toBeGreaterThanOrEqual(3);
    expect(last - first + 1).toBeGreaterThanOrEqual(15);
    // Every loaded second but the first (the test starts inside it) moved the loopback's hundreds of Mbit/s.
    for (const s of seconds.slice(first + 1, last + 1)) expect(s.throughput.s2c_bytes_per_s * 8).toBeGreaterThan(50e6);
    const { summary } = lines.at(-1) as { summary: { rtt_idle_ms: { p50: number; p90: number }; rtt_loaded_ms: { p50: number; p90: number }; responsiveness_rpm: number } };
    // Samples timing noise put below 0 are clamped to 0, not dropped (recordRtt): on loopback 0 is a valid idle p50.
    expect(summary.rtt_idle_ms.p50).toBeGreaterThanOrEqual(0);
    expect(summary.rtt_idle_ms.p50).toBeLessThan(summary.rtt_loaded_ms.p50);
    expect(summary.rtt_loaded_ms.p90).toBeGreaterThanOrEqual(summary.rtt_loaded_ms.p50);
    // RPM's value is pinned by the unit tests (hand-computed) and the page test; here it must be printed.
    expect(summary.responsiveness_rpm).toBeGreaterThan(0);
    expect(out.stderr).toBe('');
  }, 60_000);

  it('prints the baseline notice, loaded rows and the latency line in text mode', async () => {
    const out = await runCli(['--duration', '6s', '--throughput']);
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout).toContain('-- measuring 3 s without load first (the idle baseline), then the throughput test starts');
    expect(out.stdout).toMatch(/^\d+\s+s2c .*  load$/m);
    expect(out.stdout).toMatch(/latency: RTT idle p50\/p90 \d+\.\d{3}\/\d+\.\d{3} ms, under load p50\/p90 \d+\.\d{3}\/\d+\.\d{3} ms; responsiveness \d+ RPM \(trimmed mean of loaded round trips, draft-ietf-ippm-responsiveness\)/);
  }, 60_000);
});
