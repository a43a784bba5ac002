// The resumable SHA-256 against node:crypto: any split of a message into pieces, with the state saved as text
// and read back between pieces, gives the digest of the whole.
import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decodeSha256State, encodeSha256State, sha256Finish, sha256Start, sha256Update } from '../../edge/recordings/resumable-sha256.js';

const nodeSha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('resumable SHA-256', () => {
  it('matches node:crypto for lengths around the block and padding edges', () => {
    for (const n of [0, 1, 3, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 129, 1000]) {
      const msg = new Uint8Array(randomBytes(n));
      expect(sha256Finish(sha256Update(sha256Start(), msg)), `length ${n}`).toBe(nodeSha(msg));
    }
  });

  it('gives the whole message\'s digest over pieces of any size, the state stored as text between them', () => {
    const msg = new Uint8Array(randomBytes(70_001));
    for (const piece of [1, 7, 63, 64, 65, 4096, 65_537]) {
      let text: string | null = null;
      for (let at = 0; at < msg.length; at += piece) text = encodeSha256State(sha256Update(decodeSha256State(text), msg.subarray(at, at + piece)));
      expect(sha256Finish(decodeSha256State(text)), `pieces of ${piece}`).toBe(nodeSha(msg));
    }
  });

  it('refuses a malformed stored state instead of hashing on from garbage', () => {
    const good = encodeSha256State(sha256Update(sha256Start(), new Uint8Array(70)));
    expect(decodeSha256State(good).length).toBe(70);
    expect(() => decodeSha256State(good.replace('.70.', '.71.'))).toThrow(/malformed/);
    expect(() => decodeSha256State('nonsense')).toThrow(/malformed/);
  });
});
