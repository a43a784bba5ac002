// Local mode's data dir holds plaintext magic keys, password hashes, captures and recordings: it and
// everything in it are for the owner only, also when an older run left them readable by others.
import { chmodSync, lstatSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/** Creates `dir` (0700) or tightens an existing one: every directory under it 0700, every file without group or other bits. */
export function prepareDataDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  tighten(dir);
}

/** From now on, files and directories this process and its children create (libSQL's WAL, wrangler's local R2) are owner-only. */
export function ownerOnlyFromNowOn(): void {
  process.umask(0o077);
}

function tighten(path: string): void {
  const st = lstatSync(path);
  // A link is not followed: what it points to is not the data dir's to change.
  if (st.isSymbolicLink()) return;
  if (st.isDirectory()) {
    chmodSync(path, 0o700);
    for (const name of readdirSync(path)) tighten(join(path, name));
  } else if ((st.mode & 0o077) !== 0) {
    chmodSync(path, st.mode & 0o700);
  }
}
