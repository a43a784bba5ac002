// `npm run profile:relay -- DIR [SESSION_SECONDS]`: where a profiled relay's CPU went, from the V8 CPU
// profiles (--cpu-prof) in DIR: self time per function and per part (our code by folder, node-datachannel's
// JS, Node's internals, GC), in ms and, given the session-seconds the relay carried, ms per session-second.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';

const CallFrame = z.object({ functionName: z.string(), url: z.string(), lineNumber: z.number(), columnNumber: z.number() });
const Profile = z.object({
  nodes: z.array(z.object({ id: z.number(), callFrame: CallFrame })),
  samples: z.array(z.number()),
  timeDeltas: z.array(z.number()),
});
type Frame = z.infer<typeof CallFrame>;

/** Which part of the process a frame belongs to (its self time is charged there). */
export function partOf(f: Frame): string {
  if (f.functionName === '(idle)' || f.functionName === '(program)' || f.functionName === '(garbage collector)') return f.functionName;
  const url = f.url;
  if (url === '') return `(native) ${f.functionName || 'anonymous'}`;
  if (url.startsWith('node:')) return 'node internals';
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) return `node_modules/${url.slice(nm + 14).split('/').slice(0, url.slice(nm + 14).startsWith('@') ? 2 : 1).join('/')}`;
  const m = /\/(relay|shared|client)\/(.*)$/.exec(url);
  return m ? `${m[1]}/${m[2]}` : url;
}

/** Self time (ms) per key over every profile in `dir`. */
export function selfTimes(dir: string, key: (f: Frame) => string): Map<string, number> {
  const out = new Map<string, number>();
  for (const name of readdirSync(dir).filter((n) => n.endsWith('.cpuprofile'))) {
    const p = Profile.parse(JSON.parse(readFileSync(join(dir, name), 'utf8')));
    const frames = new Map(p.nodes.map((n) => [n.id, n.callFrame]));
    p.samples.forEach((id, i) => {
      const k = key(frames.get(id)!);
      out.set(k, (out.get(k) ?? 0) + (p.timeDeltas[i] ?? 0) / 1000);
    });
  }
  return out;
}

const IDLE = /^\(idle\)/;

function print(title: string, times: Map<string, number>, sessionSeconds: number, top: number): void {
  const busy = [...times].filter(([k]) => !IDLE.test(k)).reduce((s, [, v]) => s + v, 0);
  process.stdout.write(`\n${title} (busy ${busy.toFixed(0)} ms${sessionSeconds ? `, ${(busy / sessionSeconds).toFixed(3)} ms per session-second` : ''})\n`);
  for (const [k, ms] of [...times].filter(([k]) => !IDLE.test(k)).sort((a, b) => b[1] - a[1]).slice(0, top)) {
    const per = sessionSeconds ? `  ${(ms / sessionSeconds).toFixed(4).padStart(8)} ms/s-s` : '';
    process.stdout.write(`  ${((100 * ms) / busy).toFixed(1).padStart(5)} %  ${ms.toFixed(0).padStart(7)} ms${per}  ${k}\n`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [dir, ss] = process.argv.slice(2);
  if (!dir) {
    process.stderr.write('usage: npm run profile:relay -- DIR [SESSION_SECONDS]\n');
    process.exit(2);
  }
  const sessionSeconds = Number(ss ?? 0);
  print('by part', selfTimes(dir, partOf), sessionSeconds, 25);
  print('by function', selfTimes(dir, (f) => `${f.functionName || '(anonymous)'} ${partOf(f)}:${f.lineNumber + 1}:${f.columnNumber + 1}`), sessionSeconds, 30);
}
