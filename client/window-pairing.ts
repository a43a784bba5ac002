/** Why a second has no relay window: it did not arrive within a window's grace (it may still, and then fills its second). */
export const RELAY_WINDOW_NOT_RECEIVED = 'relay window not received';
/** Why the last seconds have no relay window: the relay's streams ended (its last window came) before this one. */
export const RELAY_WINDOW_AFTER_END = 'relay had stopped before this second';

/** What the pairing hands on, in index order per kind. */
export type Paired<O, P> =
  /** One second of this side: its own window and the peer's of the same index, or why the peer's is missing. */
  | { kind: 'second'; index: number; own: O; peer: P | null; missing?: string }
  /** A peer window whose second was already shown without it (late), or that has no own window (the peer ran longer). */
  | { kind: 'late'; index: number; peer: P };

export interface WindowPairing<O, P> {
  /** This side closed window `index`. */
  own(index: number, w: O): Paired<O, P>[];
  /** The peer's window `index` arrived (a repeat of an index is ignored). */
  peer(index: number, w: P): Paired<O, P>[];
  /** The end: every own window still waiting goes out; `peerDone` says the peer's last window has arrived. */
  finish(peerDone: boolean): Paired<O, P>[];
}

/**
 * Pairs this side's windows with the peer's by `window_index` (PROTOCOL §2),
 * never by arrival: the peer's window of a second comes a round trip after
 * ours closes, or later, or not at all. An own window waits for its peer
 * window until our next window closes; then it goes out without it, marked
 * missing, and a peer window that comes after that fills its own second as
 * `late`. Each index goes out once as a second; each peer window once.
 */
export function createWindowPairing<O, P>(): WindowPairing<O, P> {
  const ownWaiting = new Map<number, O>();
  const peerWaiting = new Map<number, P>();
  /** Own seconds shown without their peer window: a late one may still fill them. */
  const shownMissing = new Set<number>();
  const peerSeen = new Set<number>();
  let peerMax = -1;

  const flushBelow = (limit: number, missing: (i: number) => string): Paired<O, P>[] => {
    const out: Paired<O, P>[] = [];
    for (const i of [...ownWaiting.keys()].sort((a, b) => a - b)) {
      if (i >= limit) continue;
      out.push({ kind: 'second', index: i, own: ownWaiting.get(i)!, peer: null, missing: missing(i) });
      ownWaiting.delete(i);
      shownMissing.add(i);
    }
    return out;
  };

  return {
    own(index, w) {
      // The previous second had its grace (this whole window): it goes out now, with or without its peer.
      const out = flushBelow(index, () => RELAY_WINDOW_NOT_RECEIVED);
      const peer = peerWaiting.get(index);
      if (peer !== undefined) {
        peerWaiting.delete(index);
        out.push({ kind: 'second', index, own: w, peer });
      } else ownWaiting.set(index, w);
      return out;
    },
    peer(index, w) {
      if (peerSeen.has(index)) return [];
      peerSeen.add(index);
      peerMax = Math.max(peerMax, index);
      const own = ownWaiting.get(index);
      if (own !== undefined) {
        ownWaiting.delete(index);
        return [{ kind: 'second', index, own, peer: w }];
      }
      if (shownMissing.delete(index)) return [{ kind: 'late', index, peer: w }];
      peerWaiting.set(index, w);
      return [];
    },
    finish(peerDone) {
      const out = flushBelow(Infinity, (i) => (peerDone && i > peerMax ? RELAY_WINDOW_AFTER_END : RELAY_WINDOW_NOT_RECEIVED));
      for (const i of [...peerWaiting.keys()].sort((a, b) => a - b)) out.push({ kind: 'late', index: i, peer: peerWaiting.get(i)! });
      peerWaiting.clear();
      return out;
    },
  };
}
