import { afterEach, describe, expect, it, vi } from 'vitest';
import { canMove, createStateMachine, moveTo, own, ownedCount, ownTimeout, type ConnState } from '../../relay/session-state.js';

afterEach(() => vi.useRealTimers());

describe('connection state machine', () => {
  it('allows only the moves of the diagram', () => {
    const m = createStateMachine();
    expect(moveTo(m, 'streaming')).toBe(false);
    expect(m.state).toBe('signaled');
    const path: ConnState[] = ['open', 'surveying', 'streaming', 'surveying', 'streaming', 'stopped', 'closed'];
    for (const to of path) expect(moveTo(m, to), `→ ${to}`).toBe(true);
    for (const to of ['signaled', 'open', 'surveying', 'streaming', 'stopped', 'closed'] as const) expect(canMove(m, to)).toBe(false);
    const again = createStateMachine();
    moveTo(again, 'open');
    expect(moveTo(again, 'stopped')).toBe(false);
  });

  it('releases what a state owns when it is left, newest first, and nothing that is still live', () => {
    const m = createStateMachine();
    const released: string[] = [];
    own(m, () => released.push('connection'), 'connection');
    own(m, () => released.push('open-timer'));
    moveTo(m, 'open');
    expect(released).toEqual(['open-timer']);
    moveTo(m, 'surveying');
    own(m, () => released.push('capture'));
    moveTo(m, 'streaming');
    own(m, () => released.push('ticker'));
    own(m, () => released.push('limit'));
    moveTo(m, 'surveying');
    expect(released).toEqual(['open-timer', 'limit', 'ticker']);
    moveTo(m, 'streaming');
    own(m, () => released.push('ticker2'));
    moveTo(m, 'stopped');
    expect(released).toEqual(['open-timer', 'limit', 'ticker', 'ticker2', 'capture']);
    moveTo(m, 'closed');
    expect(released.at(-1)).toBe('connection');
    expect(ownedCount(m)).toBe(0);
  });

  it('releases at once what is handed to a state already left, and keeps going when one release throws', () => {
    const m = createStateMachine();
    moveTo(m, 'open');
    let late = false;
    own(m, () => (late = true), 'streaming');
    expect(late).toBe(true);
    const released: string[] = [];
    own(m, () => released.push('a'));
    own(m, () => {
      throw new Error('already closed');
    });
    moveTo(m, 'closed');
    expect(released).toEqual(['a']);
  });

  it('clears a state’s timeouts when it is left, and forgets one that fired', () => {
    vi.useFakeTimers();
    const m = createStateMachine();
    moveTo(m, 'open');
    moveTo(m, 'surveying');
    moveTo(m, 'streaming');
    let fired = 0;
    ownTimeout(m, 100, () => fired++);
    ownTimeout(m, 50, () => fired++);
    vi.advanceTimersByTime(60);
    expect(fired).toBe(1);
    expect(ownedCount(m)).toBe(1);
    moveTo(m, 'surveying');
    vi.advanceTimersByTime(1000);
    expect(fired).toBe(1);
    expect(vi.getTimerCount()).toBe(0);
  });
});
