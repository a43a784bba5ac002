// `npm run probe -- --family both --paths 2` through the edge (issue 22) against a relay that has an IPv4 address
// only: the CLI says IPv6 is unavailable and why, measures IPv4 over 2 paths with family and path columns, and ends
// with the per-path table; with --json every line carries family and path_index, and the family left out is a line.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createMagicKey } from '../../shared/db/keys.js';
import { useEdgeSystem } from '../helpers/use-system.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const sys = useEdgeSystem();

function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'cli/probe.ts', '--url', sys.edge.url, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, stdout, stderr })));
}

describe('the CLI over families and paths', () => {
  it('prints IPv6 unavailable with why, a family and path column, and the per-path table', async () => {
    const key = (await createMagicKey(sys.db.db, { label: 'cli families' })).key;
    const out = await cli(['--key', key, '--duration', '3s', '--family', 'both', '--paths', '2']);
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout).toContain('(IPv4 and IPv6, 2 paths each)');
    expect(out.stdout).toMatch(/netpoke: IPv6 unavailable, measuring without it: 2 of 2 connections failed: no measurement server reachable over IPv6 is available/);
    expect(out.stdout).toMatch(/^fam {2}path sec/m);
    // Live rows of both IPv4 paths, each direction.
    for (const path of [0, 1]) for (const dir of ['c2s', 's2c']) expect(out.stdout).toMatch(new RegExp(`^v4 {3}${path} {4}\\d+ +${dir} `, 'm'));
    expect(out.stdout).not.toMatch(/^v6 /m);
    const table = out.stdout.slice(out.stdout.indexOf('per path'));
    expect(table.split('\n').filter((l) => /^v4 {3}[01] {4}(c2s|s2c) /.test(l))).toHaveLength(4);
  }, 60_000);

  it('--json: family and path on every stats line, the connections and the family left out as lines, per_path in the summary', async () => {
    const key = (await createMagicKey(sys.db.db, { label: 'cli families json' })).key;
    const out = await cli(['--key', key, '--duration', '3s', '--family', 'both', '--connections', '2', '--json']);
    expect(out.code, out.stderr).toBe(0);
    const lines = out.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.filter((l) => l.type === 'family_unavailable')).toEqual([{ type: 'family_unavailable', family: 'ipv6', code: 'no_relay', reason: expect.stringMatching(/IPv6/) }]);
    const conns = lines.filter((l) => l.type === 'connection');
    expect(conns.map((c) => [c.family, c.path_index])).toEqual([
      ['ipv4', 0],
      ['ipv4', 1],
    ]);
    const stats = lines.filter((l) => l.type === 'stats');
    expect(stats.length).toBeGreaterThanOrEqual(4);
    for (const s of stats) expect(s.family).toBe('ipv4');
    expect(new Set(stats.map((s) => s.path_index))).toEqual(new Set([0, 1]));
    const summary = lines.find((l) => l.summary)!.summary as { per_path: { family: string; path_index: number }[]; unavailable: unknown[] };
    expect(summary.per_path.map((p) => [p.family, p.path_index])).toEqual([
      ['ipv4', 0],
      ['ipv4', 1],
    ]);
    expect(summary.unavailable).toHaveLength(1);
  }, 60_000);
});
