// A client's address cut to the prefix stored with its connection (issue 22): /24 for IPv4, /48 for IPv6, so a
// survey says which network a path left from without naming the host.
import { ipFamily } from './ip-family.js';

/** The eight 16-bit groups of an IPv6 literal (`::` expanded, a zone or an embedded IPv4 tail allowed), or null if it is not one. */
function ipv6Groups(address: string): number[] | null {
  const bare = address.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  const halves = bare.split('::');
  if (halves.length > 2) return null;
  const parse = (part: string): number[] | null => {
    if (part === '') return [];
    const out: number[] = [];
    const pieces = part.split(':');
    for (const [i, p] of pieces.entries()) {
      if (i === pieces.length - 1 && p.includes('.')) {
        const v4 = ipv4Octets(p);
        if (!v4) return null;
        out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else if (/^[0-9a-f]{1,4}$/i.test(p)) out.push(parseInt(p, 16));
      else return null;
    }
    return out;
  };
  const head = parse(halves[0]!);
  const tail = halves.length === 2 ? parse(halves[1]!) : [];
  if (!head || !tail) return null;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return null;
  return [...head, ...Array<number>(missing).fill(0), ...tail];
}

function ipv4Octets(address: string): number[] | null {
  const parts = address.split('.');
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) return null;
  return parts.map(Number);
}

/** `192.0.2.77` → `192.0.2.0/24`, `2001:db8:1:2::5` → `2001:db8:1::/48`; null for what is not an IP literal. */
export function addressPrefix(address: string): string | null {
  if (ipFamily(address) === 'ipv4') {
    const o = ipv4Octets(address);
    return o ? `${o[0]}.${o[1]}.${o[2]}.0/24` : null;
  }
  const g = ipv6Groups(address);
  if (!g) return null;
  const kept = g.slice(0, 3);
  // Trailing zero groups of the kept three fold into the `::` (2001:db8:0:: is written 2001:db8::).
  while (kept.length > 0 && kept[kept.length - 1] === 0) kept.pop();
  return `${kept.map((x) => x.toString(16)).join(':')}::/48`;
}

/** An address as its family names it: an IPv4-mapped IPv6 one (`::ffff:192.0.2.1`, a dual-stack socket's view) as IPv4, a zone left out. */
export function plainAddress(address: string): string {
  const bare = address.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(bare);
  return mapped ? mapped[1]! : bare;
}
