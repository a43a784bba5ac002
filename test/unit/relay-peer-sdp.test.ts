// The relay's offer handling: the client's candidates are kept out (the relay never checks first), trickled ones are only checked.
import { describe, expect, it } from 'vitest';
import { isCandidate, withoutCandidates } from '../../relay/peer.js';

const OFFER = [
  'v=0',
  'o=rtc 1 0 IN IP4 127.0.0.1',
  's=-',
  't=0 0',
  'm=application 36090 UDP/DTLS/SCTP webrtc-datachannel',
  'a=ice-ufrag:TB+o',
  'a=ice-pwd:07iQubfxGN+Xz3sAQAOV8h',
  'a=candidate:2 1 UDP 2116026111 fd00::2 36090 typ host',
  'a=candidate:1 1 UDP 2114977791 192.0.2.2 36090 typ host',
  'a=end-of-candidates',
  '',
].join('\r\n');

describe('relay offer handling', () => {
  it('drops every candidate line and keeps the rest, end-of-candidates included', () => {
    const out = withoutCandidates(OFFER);
    expect(out).not.toMatch(/a=candidate:/);
    expect(out.split('\r\n')).toEqual(OFFER.split('\r\n').filter((l) => !l.startsWith('a=candidate:')));
    expect(out).toContain('a=end-of-candidates');
    expect(out).toContain('a=ice-pwd:07iQubfxGN+Xz3sAQAOV8h');
  });

  it('takes LF-only SDP too', () => {
    expect(withoutCandidates(OFFER.replace(/\r\n/g, '\n'))).toBe(withoutCandidates(OFFER));
  });

  it('accepts well-formed trickled candidates and refuses anything else', () => {
    expect(isCandidate('candidate:1 1 UDP 2122252543 127.0.0.1 40000 typ host')).toBe(true);
    expect(isCandidate('a=candidate:2 1 udp 1686052607 203.0.113.9 51000 typ srflx raddr 10.0.0.2 rport 51000')).toBe(true);
    expect(isCandidate('candidate:3 1 UDP 41885439 198.51.100.7 3478 typ relay raddr 0.0.0.0 rport 0')).toBe(true);
    for (const bad of ['x', 'candidate:1 1 UDP 2122252543 127.0.0.1 40000', 'candidate:1 one UDP 1 127.0.0.1 9 typ host', 'candidate:1 1 SCTP 1 127.0.0.1 9 typ host', 'candidate:1 1 UDP 1 127.0.0.1 9 typ bogus']) {
      expect(isCandidate(bad), bad).toBe(false);
    }
  });
});
