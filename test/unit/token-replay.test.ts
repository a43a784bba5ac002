import { describe, expect, it } from 'vitest';
import { createReplayGuard } from '../../relay/token-replay.js';

describe('relay token replay guard', () => {
  it('takes a jti once, and forgets it only after its token expired', () => {
    const g = createReplayGuard();
    expect(g.firstUse('a', 30_000, 0)).toBe(true);
    expect(g.firstUse('a', 30_000, 1)).toBe(false);
    expect(g.firstUse('b', 40_000, 2)).toBe(true);
    // Past a's expiry (and the sweep period): a is dropped, b is kept.
    expect(g.firstUse('c', 70_000, 30_001)).toBe(true);
    expect(g.size()).toBe(2);
    expect(g.firstUse('b', 40_000, 30_002)).toBe(false);
  });
});
