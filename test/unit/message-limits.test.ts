import { describe, expect, it } from 'vitest';
import { messageBytes, oversizeMessage } from '../../shared/protocol/limits.js';

describe('data channel message limits (UTF-8 bytes)', () => {
  it('takes text up to 4,096 UTF-8 bytes on the probe channel and refuses a byte more, whatever the characters', () => {
    expect(oversizeMessage('probe', '€'.repeat(1365))).toBeNull(); // 4,095 bytes, short enough to skip the scan
    expect(oversizeMessage('probe', `${'€'.repeat(1365)}a`)).toBeNull(); // 4,096 bytes, scanned
    expect(oversizeMessage('probe', '€'.repeat(1366))).toMatch(/a message of 4098 bytes exceeds its limit of 4096/);
    expect(oversizeMessage('probe', '😀'.repeat(1024))).toBeNull(); // 2,048 units, 4,096 bytes
    expect(oversizeMessage('probe', '😀'.repeat(1025))).toMatch(/4100 bytes/);
    expect(oversizeMessage('probe', 'a'.repeat(4096))).toBeNull();
    expect(oversizeMessage('probe', 'a'.repeat(4097))).toMatch(/more than 4096/);
    expect(oversizeMessage('control', 'é'.repeat(2049))).toMatch(/4098 bytes/);
  });

  it('counts binary by its length and text as UTF-8', () => {
    expect(oversizeMessage('bulk', new Uint8Array(65_536))).toBeNull();
    expect(oversizeMessage('bulk', new Uint8Array(65_537))).toMatch(/65537 bytes/);
    expect(messageBytes('a€😀')).toBe(1 + 3 + 4);
  });
});
