// The release build's check that everything the compiled relay and CLIs import at run time is in "dependencies".
import type { Metafile } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { missingFromDependencies, packageOf, runtimePackages } from '../../build/runtime-imports.js';

/** A metafile's inputs as esbuild writes them for a bundle with packages external. */
function meta(inputs: Record<string, { path: string; external?: boolean }[]>): Metafile {
  return {
    inputs: Object.fromEntries(
      Object.entries(inputs).map(([file, imports]) => [file, { bytes: 1, imports: imports.map((i) => ({ kind: 'import-statement' as const, ...i })) }]),
    ),
    outputs: {},
  };
}

describe('release run-time imports', () => {
  it('names the package of a specifier, and none for built-ins and relative paths', () => {
    expect(packageOf('@libsql/client')).toBe('@libsql/client');
    expect(packageOf('@hono/node-server/conninfo')).toBe('@hono/node-server');
    expect(packageOf('hono/body-limit')).toBe('hono');
    expect(packageOf('zod')).toBe('zod');
    expect(packageOf('node:fs')).toBeNull();
    expect(packageOf('worker_threads')).toBeNull();
    expect(packageOf('fs/promises')).toBeNull();
    expect(packageOf('./peer.js')).toBeNull();
  });

  it('collects packages per importing file, and flags those a production install lacks', () => {
    const packages = runtimePackages(
      meta({
        'relay/main.ts': [{ path: 'relay/relay.ts' }, { path: 'hono', external: true }, { path: 'node:fs', external: true }],
        'relay/relay.ts': [{ path: 'hono/body-limit', external: true }, { path: 'tsx/esm/api', external: true }],
        'cli/keys.ts': [{ path: 'tsx/esm/api', external: true }, { path: '@libsql/client', external: true }],
      }),
    );
    expect(Object.fromEntries(packages)).toEqual({
      hono: ['relay/main.ts', 'relay/relay.ts'],
      tsx: ['relay/relay.ts', 'cli/keys.ts'],
      '@libsql/client': ['cli/keys.ts'],
    });
    expect(missingFromDependencies(packages, { hono: '^4', '@libsql/client': '^0.18' })).toEqual([
      'tsx (imported by relay/relay.ts, cli/keys.ts) is not in "dependencies": a production install lacks it',
    ]);
    expect(missingFromDependencies(packages, { hono: '^4', '@libsql/client': '^0.18', tsx: '^4' })).toEqual([]);
  });
});
