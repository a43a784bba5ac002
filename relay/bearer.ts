import { createHash, timingSafeEqual } from 'node:crypto';

/** Whether an Authorization header is `Bearer <secret>`, compared in constant time. */
export function bearerMatches(header: string | undefined, secret: string): boolean {
  const given = header?.startsWith('Bearer ') ? header.slice(7) : '';
  // Digests are of one length, so the comparison tells nothing of the secret's length either.
  const same = timingSafeEqual(createHash('sha256').update(given).digest(), createHash('sha256').update(secret).digest());
  return given.length > 0 && same;
}
