// Local mode's data dir is the owner's alone (issue 18, item 5): what `npm start` and `npm run db` run to
// prepare it, on a temp dir left loose by an older run, and the files the local database server and the
// relay's capture writer create there, checked by their modes on disk.
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '@libsql/client';
import { afterEach, describe, expect, it } from 'vitest';
import { prepareDataDir } from '../../local/data-dir.js';
import { startHranaServer } from '../../local/hrana-server.js';
import { writePcapngFileSync } from '../../relay/capture/pcapng.js';
import { randomToken } from '../../shared/ids.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'netpoke-datadir-'));
  dirs.push(d);
  return d;
}

const mode = (path: string) => statSync(path).mode & 0o777;

/** Every path under `dir` (itself included) with its mode, as `relative path → octal`. */
function modes(dir: string, rel = ''): Record<string, string> {
  const here = join(dir, rel);
  const out: Record<string, string> = { [rel || '.']: mode(here).toString(8) };
  if (statSync(here).isDirectory()) for (const name of readdirSync(here)) Object.assign(out, modes(dir, rel ? join(rel, name) : name));
  return out;
}

describe('the local data dir', () => {
  it('an existing dir left readable by others is tightened: dirs 0700, files owner-only, a link not followed', () => {
    const root = tempDir();
    const data = join(root, 'data');
    const outside = join(root, 'outside.txt');
    writeFileSync(outside, 'not the data dir’s');
    chmodSync(outside, 0o644);
    for (const d of ['', 'captures', 'captures/s1', 'wrangler', 'wrangler/v3', 'wrangler/v3/r2']) mkdirSync(join(data, d), { recursive: true });
    const files = ['netpoke.db', 'netpoke.db-wal', 'netpoke.db-shm', 'local-secret', 'captures/s1/c1-p1.pcapng', 'wrangler/v3/r2/blob'];
    for (const f of files) writeFileSync(join(data, f), 'x');
    for (const d of ['', 'captures', 'captures/s1', 'wrangler', 'wrangler/v3', 'wrangler/v3/r2']) chmodSync(join(data, d), 0o755);
    for (const f of files) chmodSync(join(data, f), 0o644);
    writeFileSync(join(data, 'tool.sh'), '#!/bin/sh\n');
    chmodSync(join(data, 'tool.sh'), 0o775);
    symlinkSync(outside, join(data, 'link'));

    prepareDataDir(data);

    const { link, ...seen } = modes(data);
    expect(link).toBe('644'); // the link's target, untouched
    expect(seen).toEqual({
      '.': '700',
      captures: '700',
      'captures/s1': '700',
      'captures/s1/c1-p1.pcapng': '600',
      'local-secret': '600',
      'netpoke.db': '600',
      'netpoke.db-shm': '600',
      'netpoke.db-wal': '600',
      'tool.sh': '700',
      wrangler: '700',
      'wrangler/v3': '700',
      'wrangler/v3/r2': '700',
      'wrangler/v3/r2/blob': '600',
    });
    expect(mode(outside)).toBe(0o644);
  });

  it('a dir that does not exist yet is created 0700, parents included', () => {
    const data = join(tempDir(), 'a', 'data');
    prepareDataDir(data);
    expect(mode(data)).toBe(0o700);
  });

  it('the local database server keeps its file, WAL and shared memory owner-only, also over a loose file from before', async () => {
    const previous = process.umask(0o022);
    try {
      const data = tempDir();
      chmodSync(data, 0o755);
      const dbPath = join(data, 'netpoke.db');
      writeFileSync(dbPath, '');
      chmodSync(dbPath, 0o644);
      const authToken = randomToken(24);
      const server = await startHranaServer({ dbPath, authToken });
      const db = createClient({ url: server.url, authToken });
      try {
        await db.execute('CREATE TABLE t (x TEXT)');
        await db.execute({ sql: 'INSERT INTO t VALUES (?)', args: ['written through the WAL'] });
        const files = readdirSync(data).sort();
        expect(files).toEqual(['netpoke.db', 'netpoke.db-shm', 'netpoke.db-wal']);
        expect(files.map((f) => [f, mode(join(data, f)).toString(8)])).toEqual(files.map((f) => [f, '600']));
      } finally {
        db.close();
        await server.close();
      }
      // A database dir it creates itself is 0700.
      const fresh = join(tempDir(), 'new', 'netpoke.db');
      const second = await startHranaServer({ dbPath: fresh, authToken });
      await second.close();
      expect(mode(join(fresh, '..'))).toBe(0o700);
      expect(mode(fresh)).toBe(0o600);
    } finally {
      process.umask(previous);
    }
  });

  it('a capture file and its directories are written owner-only whatever the umask', () => {
    const previous = process.umask(0o022);
    try {
      const data = tempDir();
      const path = join(data, 'captures', 'survey-1', 'conn-1-peer-1.pcapng');
      writePcapngFileSync(path, [], { client: { ip: '127.0.0.1', port: 40000 }, relay: { ip: '127.0.0.1', port: 50000 } });
      expect(mode(path)).toBe(0o600);
      expect(mode(join(path, '..'))).toBe(0o700);
    } finally {
      process.umask(previous);
    }
  });
});
