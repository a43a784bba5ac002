// IP address families as PROTOCOL.md names them (`ip_version`, a relay's public addresses): shared by the relay and the edge.
import type { z } from 'zod';
import type { IpVersionSchema } from './protocol/signaling.js';

export type IpFamily = z.infer<typeof IpVersionSchema>;

/** The family of an IP literal (an IPv6 literal always holds a colon, an IPv4 one never does). */
export function ipFamily(address: string): IpFamily {
  return address.includes(':') ? 'ipv6' : 'ipv4';
}

/** `address:port`, an IPv6 address in brackets (`[::1]:50000`). */
export function hostPort(address: string, port: number): string {
  return ipFamily(address) === 'ipv6' ? `[${address}]:${port}` : `${address}:${port}`;
}
