// `npm start` runs wrangler (not ours) through this guard: wrangler in a process group of its own, and the
// whole group (wrangler, its second node, two workerd, esbuild) ended when npm start ends — on SIGTERM/SIGINT
// from npm start, when npm start's IPC channel closes (npm start died, even by SIGKILL), and when wrangler
// exits by itself (workerd may outlive it). The guard tells npm start the group id, for a last-resort kill.
import { spawn } from 'node:child_process';
import { whenParentGone } from './parent-watch.js';

/** How long the group gets after SIGTERM before SIGKILL: well inside npm start's 5 s to stop. */
const GRACE_MS = 2_000;

const [command, ...args] = process.argv.slice(2);
if (!command) {
  console.error('group-guard: usage: group-guard COMMAND [ARG...]');
  process.exit(2);
}

const child = spawn(command, args, { detached: true, stdio: ['ignore', 'inherit', 'inherit'] });
const group = child.pid;
if (group !== undefined) process.send?.({ group });

/** Signals every process of the command's group; false once the group is empty. */
function signalGroup(signal: NodeJS.Signals): boolean {
  if (group === undefined) return false;
  try {
    process.kill(-group, signal);
    return true;
  } catch {
    return false;
  }
}

let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  if (!signalGroup('SIGTERM')) process.exit(0);
  setTimeout(() => signalGroup('SIGKILL'), GRACE_MS).unref();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
whenParentGone(stop);

child.once('error', (e) => {
  console.error(`group-guard: cannot run ${command}: ${e.message}`);
  process.exit(127);
});
child.once('exit', (code, signal) => {
  // Whatever of the group outlived its leader goes with it.
  signalGroup('SIGKILL');
  process.exit(code ?? (signal ? 1 : 0));
});
