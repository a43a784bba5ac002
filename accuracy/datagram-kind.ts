// Tells the datagrams of a WebRTC 5-tuple apart by their first byte (RFC 7983) and, for DTLS records, their content type.

export type DatagramKind = 'stun' | 'dtls-handshake' | 'dtls-app' | 'dtls-app-small' | 'other';

/** DTLS content type of application data (RFC 6347 §4.1): SCTP packets, i.e. data-channel traffic. */
const DTLS_APPLICATION_DATA = 23;

/**
 * Classifies one UDP datagram. DTLS application data shorter than
 * `smallBelow` bytes is 'dtls-app-small': SCTP packets with no DATA chunk
 * (SACK, HEARTBEAT, FORWARD-TSN) that carry no message — see forwarder.ts
 * for the measured sizes behind the threshold.
 */
export function classifyDatagram(b: Uint8Array, smallBelow: number): DatagramKind {
  const first = b[0];
  if (first === undefined) return 'other';
  if (first <= 3) return 'stun';
  if (first >= 20 && first <= 63) {
    if (first !== DTLS_APPLICATION_DATA) return 'dtls-handshake';
    return b.length < smallBelow ? 'dtls-app-small' : 'dtls-app';
  }
  return 'other';
}
