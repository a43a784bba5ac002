// Path MTU toward the client with DF set, by iputils' tracepath: mtr-packet cannot set DF (its probes are fragmented on the way).
import { spawn } from 'node:child_process';
import { isIP } from 'node:net';

export interface PathMtu {
  /** The path MTU tracepath settled on (its "Resume: pmtu"), else the last it saw; null when it told nothing. */
  pathMtu: number | null;
  /** The hop that answered "fragmentation needed" (null: the MTU is the relay's own link's or a cached one). */
  reporter: string | null;
}

/**
 * The largest MTU probe, as tracepath's initial length: Ethernet's MTU. tracepath would start at 65535 bytes, which
 * on a short path (loopback, a LAN) reaches the client's socket whole, and a browser's WebRTC stack does not survive
 * a datagram that large. Paths with a larger MTU report 1500.
 */
export const MAX_PROBE_BYTES = 1500;

/** Runs tracepath toward `address` (first destination port `port`, at most `maxHops`), killed after `timeoutMs`; never rejects. */
export function measurePathMtu(opts: { path: string; address: string; port: number; maxHops: number; timeoutMs: number; signal?: AbortSignal }): Promise<PathMtu> {
  const family = isIP(opts.address);
  if (family === 0) return Promise.resolve({ pathMtu: null, reporter: null });
  return new Promise<PathMtu>((resolve) => {
    let out = '';
    const child = spawn(opts.path, [`-${family}`, '-n', '-l', String(MAX_PROBE_BYTES), '-m', String(opts.maxHops), '-p', String(opts.port), opts.address], {
      stdio: ['ignore', 'pipe', 'ignore'],
      // The relay's shutdown ends a run under way.
      ...(opts.signal ? { signal: opts.signal, killSignal: 'SIGKILL' as const } : {}),
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs);
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const done = () => {
      clearTimeout(timer);
      resolve(parseTracepath(out));
    };
    child.on('error', done);
    child.on('close', done);
  });
}

/** Reads tracepath's output: each `pmtu N` and who reported it, and the `Resume: pmtu N` line; `startMtu` is the first probe's length. */
export function parseTracepath(text: string, startMtu = MAX_PROBE_BYTES): PathMtu {
  let pathMtu: number | null = null;
  let reporter: string | null = null;
  let current = startMtu;
  for (const line of text.split('\n')) {
    const resume = /Resume:\s+pmtu\s+(\d+)/.exec(line);
    if (resume) {
      pathMtu = Number(resume[1]);
      continue;
    }
    const hop = /^\s*\d+\??:\s+(\S+)\s.*\bpmtu\s+(\d+)/.exec(line);
    if (!hop) continue;
    const mtu = Number(hop[2]);
    // A hop that lowered the MTU is the one that sent "fragmentation needed"; [LOCALHOST] is the relay's own (or cached) MTU.
    if (isIP(hop[1]!) && mtu < current) reporter = hop[1]!;
    current = mtu;
    pathMtu = mtu;
  }
  // tracepath says nothing of an MTU it never had to lower: the path carries the largest probe.
  if (pathMtu === null && /\breached\b|Resume:/.test(text)) pathMtu = startMtu;
  return { pathMtu, reporter };
}
