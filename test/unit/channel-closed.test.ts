import { describe, expect, it } from 'vitest';
import { onChannelClosed } from '../../relay/channel-closed.js';

describe('a channel’s closed handler', () => {
  it('runs while attached and is let go of once detached, though the native side keeps its callback', () => {
    let nativeCallback: (() => void) | null = null;
    const dc = { onClosed: (cb: () => void) => void (nativeCallback = cb) };
    const calls: string[] = [];
    const detach = onChannelClosed(dc, () => calls.push('closed'));
    nativeCallback!();
    expect(calls).toEqual(['closed']);
    detach();
    nativeCallback!();
    expect(calls).toEqual(['closed']);
  });
});
