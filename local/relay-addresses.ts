// Where `npm start`'s relay listens: both loopbacks, so a local survey measures IPv4 and IPv6 side by side (the
// page's default "both", `npm run probe -- --family both`), unless the machine has no IPv6 loopback or the
// operator chose addresses (RELAY_BIND_ADDRESS / RELAY_PUBLIC_ADDRESS are then used as given).
import { createSocket } from 'node:dgram';

/** The relay's bind address and, when chosen here, its public addresses (RELAY_PUBLIC_ADDRESS, comma-separated). */
export interface LocalRelayAddresses {
  bind: string;
  publicAddresses?: string;
}

/** Whether this machine can bind a UDP socket on the IPv6 loopback (::1): false where IPv6 is off. */
export function ipv6LoopbackUsable(): Promise<boolean> {
  return new Promise((done) => {
    const sock = createSocket('udp6');
    sock.once('error', () => {
      sock.close();
      done(false);
    });
    sock.bind(0, '::1', () => sock.close(() => done(true)));
  });
}

/**
 * The local relay's addresses: the operator's when either variable is set; else `::` (which takes IPv4 too)
 * announcing only 127.0.0.1 and ::1, so candidates stay on loopback; else, without IPv6, 127.0.0.1 alone.
 */
export function localRelayAddresses(env: { RELAY_BIND_ADDRESS?: string | undefined; RELAY_PUBLIC_ADDRESS?: string | undefined }, ipv6: boolean): LocalRelayAddresses {
  if (env.RELAY_BIND_ADDRESS || env.RELAY_PUBLIC_ADDRESS) return { bind: env.RELAY_BIND_ADDRESS || '127.0.0.1' };
  return ipv6 ? { bind: '::', publicAddresses: '127.0.0.1,::1' } : { bind: '127.0.0.1' };
}
