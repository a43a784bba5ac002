// /api/live (PROTOCOL.md §4): the peers connected now on every relay; an admin may end one.
import { Hono } from 'hono';
import * as z from 'zod';
import { findOpenPeer, livePeersFrom, livePeersStatement } from '../../shared/db/live-peers.js';
import { grantedCondition, type GrantsSql } from '../../shared/db/viewer-grants.js';
import { closePeer } from '../relay-client.js';
import { withDb } from '../db.js';
import type { EdgeEnv } from '../env.js';
import { HttpError } from '../errors.js';
import { readAsViewer, requireAdmin } from '../auth/viewer.js';

/** Peers of a relay that stopped heartbeating stay in the view, marked relay_lost, this long past the freshness limit. */
const LOST_SHOWN_MS = 60_000;

const PeerIdSchema = z.string().regex(/^[A-Za-z0-9_-]{1,128}$/);

/** The viewer's keys as a condition on relay_peers' key (`k`). */
function peerAccess(g: GrantsSql) {
  return grantedCondition(g, (keyIds) => ({ sql: `k.key_id IN (${keyIds.sql})`, args: keyIds.args }));
}

/** Routes under /api/live. The console polls every 2 s: each poll is one read, and polling survives any proxy, where a held-open stream would need keep-alives and still poll the database inside. */
export function liveRoutes(): Hono<EdgeEnv> {
  const app = new Hono<EdgeEnv>();

  app.get('/', async (c) => {
    const config = c.get('config');
    const now = Date.now();
    const bounds = { freshSince: now - config.relayFreshMs, lostSince: now - config.relayFreshMs - LOST_SHOWN_MS };
    // The viewer and the peers in one round trip: the peers' access condition reads the session's grants itself.
    const { results } = await readAsViewer(c, (grants) => [livePeersStatement({ ...bounds, access: peerAccess(grants) })]);
    c.header('cache-control', 'no-store');
    return c.json(livePeersFrom(results[0]!, bounds.freshSince));
  });

  // Ends a connected client's session (admin): the relay closes the peer, and its survey ends as the client leaving would end it.
  app.post('/:peer_id/end', async (c) => {
    const admin = await requireAdmin(c);
    const peerId = PeerIdSchema.safeParse(c.req.param('peer_id'));
    if (!peerId.success) throw new HttpError('not_found', 'no such connected peer');
    const config = c.get('config');
    const peer = await withDb(config, (db) => findOpenPeer(db, peerId.data));
    if (!peer) throw new HttpError('not_found', 'no such connected peer (it may have ended already)');
    const closed = await closePeer({ id: peer.relay_id, url: peer.internal_url }, config.secrets, peerId.data);
    if (!closed) throw new HttpError('relay_failed', `relay ${peer.relay_id} did not confirm closing the peer; it may be down, and its peers end when it is`);
    console.log(`edge: peer ${peerId.data} on ${peer.relay_id} ended by ${admin.login}`);
    return c.body(null, 204);
  });

  return app;
}
