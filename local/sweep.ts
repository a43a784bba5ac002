// `npm run sweep`: runs the edge's cron work (the sweep of abandoned recording uploads) now, on the edge that
// `npm start` runs: wrangler dev never fires cron triggers by itself, but runs them on GET /__scheduled.
import * as z from 'zod';
import { parseConfig } from '../shared/config.js';

const SweepEnvSchema = z.object({
  NETPOKE_EDGE_PORT: z.coerce.number().int().min(1).max(65535).default(8787),
});

async function main(): Promise<void> {
  const env = parseConfig(SweepEnvSchema, process.env);
  const url = `http://127.0.0.1:${env.NETPOKE_EDGE_PORT}/__scheduled?cron=${encodeURIComponent('17 * * * *')}`;
  const resp = await fetch(url).catch((e: unknown) => {
    throw new Error(`no edge answers on port ${env.NETPOKE_EDGE_PORT} (${(e as Error).message}); start it with npm start`);
  });
  const text = await resp.text();
  if (!resp.ok) throw new Error(`the scheduled run failed: HTTP ${resp.status} ${text.slice(0, 500)}`);
  console.log(`npm run sweep: done (${text.trim() || 'ok'}); what was removed is in npm start's output`);
}

main().catch((e: unknown) => {
  console.error(`npm run sweep: ${(e as Error).message}`);
  process.exit(1);
});
