// Reverse names of a trace's hops, each resolved within a bound or left out.
import { Resolver } from 'node:dns/promises';

/** Each address's reverse name, or null when it has none or the answer is not in within `timeoutMs`. */
export async function reverseNames(addresses: readonly string[], timeoutMs: number): Promise<Map<string, string | null>> {
  const resolver = new Resolver({ timeout: timeoutMs, tries: 1 });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), timeoutMs)));
  const unique = [...new Set(addresses)];
  const names = await Promise.all(unique.map((a) => Promise.race([resolver.reverse(a).then((n) => n[0]?.slice(0, 64) ?? null, () => null), deadline])));
  clearTimeout(timer);
  resolver.cancel();
  return new Map(unique.map((a, i) => [a, names[i] ?? null]));
}
