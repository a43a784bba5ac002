import { RTCPeerConnection as PolyfillPeerConnection } from 'node-datachannel/polyfill';

/**
 * node-datachannel's polyfill RTCPeerConnection, fixed for TURN REST API
 * credentials. The polyfill hands libdatachannel each TURN server as
 * `turn:<username>:<credential>@host` without escaping, and libdatachannel
 * splits that URL at the first `:` and `@` before percent-decoding its parts;
 * so a username `<expiry>:<id>` (or a base64 credential with `/`) reaches the
 * TURN server cut in the wrong place and every allocation is refused.
 * Escaped here, they arrive intact. iceTransportPolicy passes through as is.
 */
export class NodePeerConnection extends PolyfillPeerConnection {
  constructor(config: RTCConfiguration = {}) {
    super({ ...config, iceServers: config.iceServers?.map(escapeCredentials) });
  }
}

/** The server with its username and credential percent-encoded, as libdatachannel's URL parser reads them. */
function escapeCredentials(server: RTCIceServer): RTCIceServer {
  if (server.username === undefined || server.credential === undefined) return server;
  return { ...server, username: encodeURIComponent(server.username), credential: encodeURIComponent(server.credential) };
}

/** The polyfill class typed as the DOM one, which is what the client code takes. */
export const NodeRTCPeerConnection = NodePeerConnection as unknown as typeof globalThis.RTCPeerConnection;
