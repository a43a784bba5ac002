// bench/profile-summary.ts: self time per part from a crafted V8 CPU profile.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { partOf, selfTimes } from '../../bench/profile-summary.js';

const frame = (functionName: string, url: string) => ({ functionName, url, lineNumber: 0, columnNumber: 0, scriptId: '0' });

describe('profile summary', () => {
  it('names the part of each frame', () => {
    expect(partOf(frame('recordProbe', 'file:///w/shared/stats/direction-stats.ts'))).toBe('shared/stats/direction-stats.ts');
    expect(partOf(frame('run', 'file:///w/node_modules/zod/v4/core/core.js'))).toBe('node_modules/zod');
    expect(partOf(frame('x', 'file:///w/node_modules/@libsql/hrana-client/lib-esm/index.js'))).toBe('node_modules/@libsql/hrana-client');
    expect(partOf(frame('writev', ''))).toBe('(native) writev');
    expect(partOf(frame('emit', 'node:events'))).toBe('node internals');
    expect(partOf(frame('(garbage collector)', ''))).toBe('(garbage collector)');
  });

  it('sums each sample’s time delta onto the part of the frame it landed in', () => {
    const dir = mkdtempSync(join(tmpdir(), 'netpoke-prof-'));
    try {
      const nodes = [
        { id: 1, callFrame: frame('(idle)', '') },
        { id: 2, callFrame: frame('send', 'file:///w/relay/session.ts') },
        { id: 3, callFrame: frame('parse', 'file:///w/node_modules/zod/index.js') },
      ];
      // Deltas in µs: 2 → 1000 + 500, 3 → 250, idle → 4000.
      writeFileSync(join(dir, 'a.cpuprofile'), JSON.stringify({ nodes, samples: [1, 2, 3, 2], timeDeltas: [4000, 1000, 250, 500] }));
      const t = selfTimes(dir, partOf);
      expect(t.get('relay/session.ts')).toBe(1.5);
      expect(t.get('node_modules/zod')).toBe(0.25);
      expect(t.get('(idle)')).toBe(4);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
