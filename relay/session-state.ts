/**
 * The states of one client connection on the relay, and the only moves between them:
 *
 *   signaled ─► open ─► surveying ◄─► streaming
 *      │         │          │             │
 *      │         │          └──► stopped ◄┘
 *      └─────────┴──────────────────┴──────► closed   (from any state)
 *
 * - signaled: the answer went out; the three channels are not all open yet.
 * - open: all three channels are open; no survey yet.
 * - surveying: start_survey_session was accepted (the capture runs).
 * - streaming: probe streams run (probe ticker, stats ticker, measuring-time limit, maybe bulk traffic).
 * - stopped: stop_survey_session was handled; a repeat is answered, nothing restarts.
 * - closed: everything is released.
 *
 * Every resource belongs to the state that created it and is released, newest
 * first, the moment the connection leaves that state — so a timer can never
 * outlive what it was for. Resources of the whole connection belong to
 * 'connection' and are released on 'closed'.
 */
export type ConnState = 'signaled' | 'open' | 'surveying' | 'streaming' | 'stopped' | 'closed';
export type Owner = Exclude<ConnState, 'closed'> | 'connection';

const MOVES: Record<ConnState, readonly ConnState[]> = {
  signaled: ['open', 'closed'],
  open: ['surveying', 'closed'],
  surveying: ['streaming', 'stopped', 'closed'],
  streaming: ['surveying', 'stopped', 'closed'],
  stopped: ['closed'],
  closed: [],
};

/** The owners whose resources live while the connection is in a state (a state is inside the ones before it). */
const LIVE: Record<ConnState, readonly Owner[]> = {
  signaled: ['connection', 'signaled'],
  open: ['connection', 'open'],
  surveying: ['connection', 'open', 'surveying'],
  streaming: ['connection', 'open', 'surveying', 'streaming'],
  stopped: ['connection', 'open', 'stopped'],
  closed: [],
};

/** A connection's state and what each live state holds. */
export interface StateMachine {
  state: ConnState;
  owned: Map<Owner, (() => void)[]>;
}

/** A machine in 'signaled'. */
export function createStateMachine(): StateMachine {
  return { state: 'signaled', owned: new Map() };
}

/** Whether the diagram has a move from the current state to `to`. */
export function canMove(m: StateMachine, to: ConnState): boolean {
  return MOVES[m.state].includes(to);
}

/**
 * Moves to `to`, releasing everything owned by the states it leaves (newest
 * first); false, changing nothing, for a move the diagram does not have.
 * A release that throws does not keep the others from running.
 */
export function moveTo(m: StateMachine, to: ConnState): boolean {
  if (!canMove(m, to)) return false;
  const keep = LIVE[to];
  for (const owner of [...LIVE[m.state]].reverse()) {
    if (keep.includes(owner)) continue;
    releaseAll(m, owner);
  }
  m.state = to;
  return true;
}

/**
 * Hands a resource's release to `owner` (default: the current state). An
 * owner that is not live now releases it at once: nothing can be attached to
 * a state the connection has already left.
 */
export function own(m: StateMachine, release: () => void, owner: Owner = current(m)): void {
  if (!LIVE[m.state].includes(owner)) {
    safely(release);
    return;
  }
  const list = m.owned.get(owner) ?? [];
  list.push(release);
  m.owned.set(owner, list);
}

/** A timeout owned by a state: cleared when the state is left, and forgotten once it fires. */
export function ownTimeout(m: StateMachine, ms: number, fire: () => void, owner: Owner = current(m)): void {
  const timer = setTimeout(() => {
    const list = m.owned.get(owner);
    const i = list?.indexOf(cancel) ?? -1;
    if (i >= 0) list!.splice(i, 1);
    fire();
  }, ms);
  const cancel = () => clearTimeout(timer);
  own(m, cancel, owner);
}

/** How many resources the live states hold (tests, metrics). */
export function ownedCount(m: StateMachine): number {
  let n = 0;
  for (const list of m.owned.values()) n += list.length;
  return n;
}

function current(m: StateMachine): Owner {
  return m.state === 'closed' ? 'connection' : m.state;
}

function releaseAll(m: StateMachine, owner: Owner): void {
  const list = m.owned.get(owner);
  m.owned.delete(owner);
  if (!list) return;
  for (const release of list.reverse()) safely(release);
}

function safely(fn: () => void): void {
  try {
    fn();
  } catch {
    // A resource that fails to release (a channel already closed) must not keep the rest.
  }
}
