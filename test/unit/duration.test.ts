import { describe, expect, it } from 'vitest';
import { parseDuration } from '../../cli/duration.js';

describe('parseDuration', () => {
  it('reads the units the CLIs accept', () => {
    expect(parseDuration('30s')).toBe(30_000);
    expect(parseDuration('5m')).toBe(300_000);
    expect(parseDuration('48h')).toBe(172_800_000);
    expect(parseDuration('2d')).toBe(172_800_000);
    expect(parseDuration('1.5h')).toBe(5_400_000);
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('12')).toBe(12_000);
  });

  it('refuses anything else', () => {
    for (const bad of ['', 'h', '-5s', '5 years', '1e3s', 'abc']) expect(parseDuration(bad)).toBeNull();
  });
});
