// The headless client's families × paths survey run as a child process (e.g. `ip netns exec <ns> node --import tsx
// ...`): signals straight to the relay at RELAY_URL (signed as the edge would), surveys FAMILIES (comma-separated)
// over PATHS connections each for DURATION_MS, and prints one JSON line: its result's ids, paths and families left out.
import { runProbe } from '../../cli/run-probe.js';
import type { IpFamily } from '../../shared/ip-family.js';
import { directSignal } from './system.js';

const relay = { url: process.env.RELAY_URL!, relayId: process.env.RELAY_ID! };
const result = await runProbe({
  url: '',
  key: 'ignored',
  durationMs: Number(process.env.DURATION_MS ?? 3000),
  families: (process.env.FAMILIES ?? 'ipv4,ipv6').split(',') as IpFamily[],
  paths: Number(process.env.PATHS ?? 4),
  signal: directSignal(relay, { magicKey: process.env.MAGIC_KEY ?? 'netns-family-key' }),
});
process.stdout.write(
  JSON.stringify({ survey_session_id: result.surveySessionId, stopped_by: result.stoppedBy, paths: result.paths, unavailable: result.unavailable, seconds: result.seconds.length }) + '\n',
);
setTimeout(() => process.exit(0), 200).unref();
