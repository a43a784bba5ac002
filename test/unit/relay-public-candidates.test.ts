// The relay's answer candidates: one per public address, at the one UDP port, with the family right.
import { describe, expect, it } from 'vitest';
import { withPublicCandidates } from '../../relay/peer.js';

const ANSWER = [
  'v=0',
  'o=rtc 1 0 IN IP4 0.0.0.0',
  's=-',
  't=0 0',
  'm=application 50000 UDP/DTLS/SCTP webrtc-datachannel',
  'c=IN IP4 192.0.2.2',
  'a=ice-ufrag:TB+o',
  'a=candidate:2 1 UDP 2116026111 fd00::2 50000 typ host',
  'a=candidate:1 1 UDP 2114977791 192.0.2.2 50000 typ host',
  'a=end-of-candidates',
  '',
].join('\r\n');

const lines = (sdp: string) => sdp.split('\r\n');

describe('withPublicCandidates', () => {
  it('puts one host candidate per public address in place of the gathered ones, first preferred', () => {
    const out = withPublicCandidates(ANSWER, ['2001:db8::7', '203.0.113.7']);
    const candidates = lines(out).filter((l) => l.startsWith('a=candidate:'));
    expect(candidates).toEqual(['a=candidate:1 1 UDP 2130706431 2001:db8::7 50000 typ host', 'a=candidate:2 1 UDP 2130706175 203.0.113.7 50000 typ host']);
    expect(lines(out)).toContain('c=IN IP6 2001:db8::7');
    // Everything else stays, in place.
    expect(lines(out).filter((l) => !l.startsWith('a=candidate:') && !l.startsWith('c='))).toEqual(lines(ANSWER).filter((l) => !l.startsWith('a=candidate:') && !l.startsWith('c=')));
    expect(lines(out).indexOf('a=end-of-candidates')).toBe(lines(out).indexOf(candidates[1]!) + 1);
  });

  it('names an IPv4 first address as IP4, and leaves an SDP without candidates alone', () => {
    expect(lines(withPublicCandidates(ANSWER, ['203.0.113.7']))).toContain('c=IN IP4 203.0.113.7');
    const bare = ANSWER.split('\r\n').filter((l) => !l.startsWith('a=candidate:')).join('\r\n');
    expect(withPublicCandidates(bare, ['203.0.113.7'])).toBe(bare);
  });
});
