import type { DataChannel } from 'node-datachannel';

/**
 * Calls `handler` when `dc` closes, until the returned function detaches it.
 * node-datachannel holds a channel's closed callback (and everything it
 * captures) from a global handle until libdatachannel reports the close, which
 * a channel closed together with its peer connection often never does: a
 * handler capturing its session kept the whole session (channels, probe
 * endpoint, capture ring) alive after release, about a third of all sessions.
 * The callback given to the native side captures only a holder emptied here.
 */
export function onChannelClosed(dc: Pick<DataChannel, 'onClosed'>, handler: () => void): () => void {
  const holder: { handler: (() => void) | null } = { handler };
  dc.onClosed(() => holder.handler?.());
  return () => {
    holder.handler = null;
  };
}
