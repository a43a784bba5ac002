// Drives Debian's mtr-packet (mtr-tiny) over its stdin/stdout command protocol: one process per relay, replies matched by token.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { isIP } from 'node:net';
import { createInterface } from 'node:readline';

/** One UDP probe: toward `address:port`, from the relay's own `localPort` (a raw socket: the port is only a header value). */
export interface ProbeParams {
  address: string;
  port: number;
  localAddress?: string;
  localPort: number;
  ttl: number;
  timeoutS: number;
  /** Whole packet size in bytes, IP and UDP headers included. */
  size: number;
}

/** What came back for one probe: an ICMP time-exceeded from a hop, an answer from the destination, nothing, or a failure to send. */
export type ProbeReply =
  | { kind: 'ttl-expired' | 'reply'; address: string; rttMs: number }
  | { kind: 'no-reply' }
  | { kind: 'failed'; reason: string };

export interface MtrPacket {
  /** Sends one probe; never rejects (a failure to send comes back as `failed`). */
  probe(p: ProbeParams): Promise<ProbeReply>;
  close(): void;
}

/**
 * Payload byte of every probe: outside every range RFC 7983 demultiplexes (STUN, DTLS, TURN, RTP), so the client's
 * WebRTC stack drops the probes that reach it without taking them for anything.
 */
const BIT_PATTERN = 255;

/** Starts mtr-packet at `path`; a process that cannot start or dies answers every probe `failed` with the reason. */
export function startMtrPacket(path: string): MtrPacket {
  let child: ChildProcessWithoutNullStreams | null = null;
  let dead: string | null = null;
  let token = 0;
  const pending = new Map<number, { resolve: (r: ProbeReply) => void; timer: ReturnType<typeof setTimeout> }>();

  const settle = (tok: number, r: ProbeReply) => {
    const p = pending.get(tok);
    if (!p) return;
    pending.delete(tok);
    clearTimeout(p.timer);
    p.resolve(r);
  };
  const die = (reason: string) => {
    dead = reason;
    child = null;
    for (const tok of [...pending.keys()]) settle(tok, { kind: 'failed', reason });
  };
  const ensure = (): ChildProcessWithoutNullStreams | null => {
    if (child || dead) return child;
    const c = spawn(path, [], { stdio: ['pipe', 'pipe', 'pipe'] });
    // EPERM: the file's cap_net_raw is outside what the relay may hold (README, "Where on the path").
    c.on('error', (e: NodeJS.ErrnoException) => die(e.code === 'ENOENT' ? `${path} not found (install mtr-tiny)` : `${path} cannot run: ${e.message}`));
    let answered = false;
    let errText = '';
    c.stderr.on('data', (d: Buffer) => (errText = (errText + d.toString()).slice(-300)));
    c.on('exit', (code, signal) => {
      if (child !== c) return;
      die(`${path} exited (${signal ?? code})${errText.trim() ? `: ${errText.trim()}` : ''}`);
      // A process that ended after it worked is started again at the next probe; one that never answered stays dead.
      if (answered) dead = null;
    });
    c.stdin.on('error', () => undefined);
    createInterface({ input: c.stdout }).on('line', (line) => {
      const r = parseReply(line);
      if (!r) return;
      answered = true;
      settle(r.token, r.reply);
    });
    child = c;
    return c;
  };

  return {
    probe(p) {
      const cmd = probeCommand(++token, p);
      if (!cmd) return Promise.resolve({ kind: 'failed', reason: `not an IP address: ${p.address}` });
      const c = ensure();
      if (!c) return Promise.resolve({ kind: 'failed', reason: dead ?? 'mtr-packet is not running' });
      const tok = token;
      return new Promise<ProbeReply>((resolve) => {
        // mtr-packet answers within its own timeout; this guards against a process that hangs.
        const timer = setTimeout(() => settle(tok, { kind: 'failed', reason: 'no answer from mtr-packet' }), p.timeoutS * 1000 + 3_000);
        pending.set(tok, { resolve, timer });
        c.stdin.write(cmd);
      });
    },
    close() {
      const c = child;
      die('closed');
      c?.kill();
    },
  };
}

/** The send-probe command line; null unless the addresses are IP literals (nothing else ever reaches mtr-packet's stdin). */
export function probeCommand(token: number, p: ProbeParams): string | null {
  const family = isIP(p.address);
  if (family === 0 || (p.localAddress !== undefined && isIP(p.localAddress) !== family)) return null;
  const ints = [p.port, p.localPort, p.ttl, p.timeoutS, p.size];
  if (!ints.every((n) => Number.isInteger(n) && n >= 0 && n <= 65535)) return null;
  const v = family === 4 ? 'ip-4' : 'ip-6';
  const local = p.localAddress ? ` local-${v} ${p.localAddress}` : '';
  return `${token} send-probe ${v} ${p.address}${local} protocol udp port ${p.port} local-port ${p.localPort} ttl ${p.ttl} timeout ${p.timeoutS} size ${p.size} bit-pattern ${BIT_PATTERN}\n`;
}

/** Parses one reply line (`TOKEN KIND [NAME VALUE]...`); null for a line that is not one. */
export function parseReply(line: string): { token: number; reply: ProbeReply } | null {
  const [tok, kind, ...rest] = line.trim().split(/\s+/);
  const token = Number(tok);
  if (!Number.isInteger(token) || !kind) return null;
  const args = new Map<string, string>();
  for (let i = 0; i + 1 < rest.length; i += 2) args.set(rest[i]!, rest[i + 1]!);
  if (kind === 'ttl-expired' || kind === 'reply') {
    const address = args.get('ip-4') ?? args.get('ip-6');
    const rtt = Number(args.get('round-trip-time'));
    if (!address || !Number.isFinite(rtt)) return { token, reply: { kind: 'failed', reason: `malformed ${kind}` } };
    return { token, reply: { kind, address, rttMs: rtt / 1000 } };
  }
  if (kind === 'no-reply') return { token, reply: { kind: 'no-reply' } };
  // permission-denied, no-route, network-down, probes-exhausted, invalid-argument, unexpected-error …
  return { token, reply: { kind: 'failed', reason: `mtr-packet: ${kind}${rest.length ? ' ' + rest.join(' ') : ''}` } };
}
