// The worker's cron trigger (wrangler.toml [triggers]): housekeeping that no request does.
import { configFor } from './config.js';
import type { EdgeBindings } from './env.js';
import { sweepAbandonedUploads } from './recordings/abandoned-sweep.js';
import { bucketOf } from './recordings/object-store.js';

/** Runs the scheduled work; an error fails the run (Workers logs it) and the next run tries again. */
export async function scheduled(_event: unknown, env: EdgeBindings): Promise<void> {
  const store = bucketOf(env);
  if (!store) {
    console.log('edge: scheduled run: no RECORDINGS bucket bound, nothing to sweep');
    return;
  }
  await sweepAbandonedUploads(configFor(env), store);
}
