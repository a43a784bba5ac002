// Which address families this browser can measure from (issue 22): the default of the family choice.
import { ipFamily, type IpFamily } from '../shared/ip-family.js';

const LOOPBACK = /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])$/;

/**
 * The families of this browser's host candidates, or null when it cannot tell (addresses hidden behind mDNS
 * names): then both are tried and a missing one is reported by the survey. Toward a page on loopback both
 * count (127.0.0.1 and ::1).
 */
export async function browserFamilies(RTC: typeof RTCPeerConnection, hostname: string, timeoutMs = 1500): Promise<Set<IpFamily> | null> {
  if (LOOPBACK.test(hostname)) return new Set(['ipv4', 'ipv6']);
  const pc = new RTC({ iceServers: [] });
  const found = new Set<IpFamily>();
  try {
    pc.createDataChannel('probe-families');
    await pc.setLocalDescription(await pc.createOffer());
    await new Promise<void>((done) => {
      const timer = setTimeout(done, timeoutMs);
      pc.addEventListener('icecandidate', (e) => {
        if (!e.candidate) {
          clearTimeout(timer);
          done();
          return;
        }
        const address = e.candidate.candidate.split(' ')[4] ?? '';
        // A link-local IPv6 address reaches no server.
        if (address !== '' && !address.endsWith('.local') && !/^fe[89ab]/i.test(address)) found.add(ipFamily(address));
      });
    });
  } catch {
    return null;
  } finally {
    pc.close();
  }
  return found.size === 0 ? null : found;
}

/** The families a choice (`both`, `ipv4`, `ipv6`) asks for. */
export function familiesOfChoice(choice: string): IpFamily[] {
  return choice === 'ipv4' ? ['ipv4'] : choice === 'ipv6' ? ['ipv6'] : ['ipv4', 'ipv6'];
}
