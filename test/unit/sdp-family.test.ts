import { describe, expect, it } from 'vitest';
import { candidateOfFamily, candidatesOfFamily, hasCandidates } from '../../shared/sdp.js';

// A crafted answer: host candidates of both families, a server-reflexive IPv4 one, an mDNS one.
const SDP = [
  'v=0',
  'o=- 1 1 IN IP4 127.0.0.1',
  's=-',
  't=0 0',
  'm=application 9 UDP/DTLS/SCTP webrtc-datachannel',
  'c=IN IP4 192.0.2.10',
  'a=candidate:1 1 UDP 2122260223 192.0.2.10 50000 typ host',
  'a=candidate:2 1 UDP 2122260222 2001:db8:1::10 50000 typ host',
  'a=candidate:3 1 UDP 1686052607 198.51.100.7 61000 typ srflx raddr 192.0.2.10 rport 50000',
  'a=candidate:4 1 UDP 2122260221 3f1c2b1e-aaaa.local 50001 typ host',
  'a=end-of-candidates',
  '',
].join('\r\n');

const addresses = (sdp: string) =>
  sdp
    .split('\r\n')
    .filter((l) => l.startsWith('a=candidate:'))
    .map((l) => l.split(' ')[4]);

describe('holding an SDP to one address family', () => {
  it('keeps only IPv4 candidates and names the first in c=', () => {
    const v4 = candidatesOfFamily(SDP, 'ipv4');
    expect(addresses(v4)).toEqual(['192.0.2.10', '198.51.100.7']);
    expect(v4).toContain('\r\nc=IN IP4 192.0.2.10\r\n');
    expect(v4).toContain('a=end-of-candidates');
    expect(v4).toContain('m=application 9 UDP/DTLS/SCTP webrtc-datachannel');
  });
  it('keeps only IPv6 candidates and switches c= to IP6', () => {
    const v6 = candidatesOfFamily(SDP, 'ipv6');
    expect(addresses(v6)).toEqual(['2001:db8:1::10']);
    expect(v6).toContain('\r\nc=IN IP6 2001:db8:1::10\r\n');
    expect(v6).not.toContain('IP4 192.0.2.10\r\n');
  });
  it('leaves no candidate when the family has none, with an unspecified c= address', () => {
    const only4 = SDP.split('\r\n').filter((l) => !l.includes('2001:db8')).join('\r\n');
    const v6 = candidatesOfFamily(only4, 'ipv6');
    expect(hasCandidates(v6)).toBe(false);
    expect(hasCandidates(only4)).toBe(true);
    expect(v6).toContain('\r\nc=IN IP6 ::\r\n');
  });
  it('judges single trickled candidates', () => {
    expect(candidateOfFamily('candidate:2 1 UDP 2122260222 2001:db8:1::10 50000 typ host', 'ipv6')).toBe(true);
    expect(candidateOfFamily('candidate:2 1 UDP 2122260222 2001:db8:1::10 50000 typ host', 'ipv4')).toBe(false);
    expect(candidateOfFamily('a=candidate:1 1 UDP 2122260223 192.0.2.10 50000 typ host', 'ipv4')).toBe(true);
    expect(candidateOfFamily('candidate:4 1 UDP 2122260221 x.local 50001 typ host', 'ipv4')).toBe(false);
    expect(candidateOfFamily('not a candidate', 'ipv4')).toBe(false);
  });
});
