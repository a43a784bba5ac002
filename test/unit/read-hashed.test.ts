import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readHashed } from '../../relay/capture/read-hashed.js';

describe('capture file read and hashed piece by piece', () => {
  const dir = mkdtempSync(join(tmpdir(), 'read-hashed-'));

  it('gives the FIPS 180-2 digest of a million "a"s over many pieces, and every byte in order', async () => {
    const path = join(dir, 'million-a');
    writeFileSync(path, 'a'.repeat(1_000_000));
    const r = await readHashed(path, 4096);
    expect(r.sha256).toBe('cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0');
    expect(r.bytes).toBe(1_000_000);
    expect(r.pieces.length).toBe(Math.ceil(1_000_000 / 4096));
    expect(r.pieces.every((p) => p.length <= 4096)).toBe(true);
    expect(Buffer.from(await new Blob(r.pieces).arrayBuffer()).toString()).toBe('a'.repeat(1_000_000));
  });

  it('gives the digest of "abc" and of an empty file', async () => {
    writeFileSync(join(dir, 'abc'), 'abc');
    writeFileSync(join(dir, 'empty'), '');
    expect((await readHashed(join(dir, 'abc'))).sha256).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(await readHashed(join(dir, 'empty'))).toEqual({ pieces: [], bytes: 0, sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' });
  });

  it('rejects with ENOENT for a file that is gone (the hand-off counts that as permanent)', async () => {
    await expect(readHashed(join(dir, 'missing'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
