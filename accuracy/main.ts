// npm run accuracy: runs the impairment scenarios through the forwarder and prints injected truth next to NetPoke's numbers.
import { parseArgs } from 'node:util';
import * as z from 'zod';
import { startTestDb } from '../test/helpers/system.js';
import { startRelayApart } from './relay-apart.js';
import { describeMachine } from './machine.js';
import { formatScenario } from './report.js';
import { runScenario } from './run-scenario.js';
import { formatLoadScenario } from './load-report.js';
import { runLoadScenario } from './run-load-scenario.js';
import { describeSpec, SCENARIOS } from './scenarios.js';

const USAGE = `usage: npm run accuracy -- [--seconds N] [--scenario NAME]...
  --seconds N      seconds of probing per scenario (default 25, 5..600; a scenario may ask for more)
  --scenario NAME  run only this scenario (repeatable); one of:
${SCENARIOS.map((s) => `                   ${s.name}: c2s ${describeSpec(s.c2s)}; s2c ${describeSpec(s.s2c)}`).join('\n')}`;

const ArgsSchema = z.object({
  seconds: z.coerce.number().int().min(5).max(600).default(25),
  scenario: z.array(z.enum(SCENARIOS.map((s) => s.name) as [string, ...string[]])).default([]),
  help: z.boolean().default(false),
});

/** Parses the command line; prints usage and exits 2 when it is wrong. */
function args() {
  try {
    const { values } = parseArgs({ options: { seconds: { type: 'string' }, scenario: { type: 'string', multiple: true }, help: { type: 'boolean', short: 'h' } } });
    const parsed = ArgsSchema.safeParse(values);
    if (parsed.success) return parsed.data;
    console.error(parsed.error.issues.map((i) => `--${i.path.join('.')}: ${i.message}`).join('\n'));
  } catch (e) {
    console.error((e as Error).message);
  }
  console.error(USAGE);
  process.exit(2);
}

const opts = args();
if (opts.help) {
  console.log(USAGE);
  process.exit(0);
}
const chosen = opts.scenario.length ? SCENARIOS.filter((s) => opts.scenario.includes(s.name)) : SCENARIOS;

console.log(describeMachine());
console.log(`${chosen.length} scenario(s), ${opts.seconds} s of probing each (or a scenario's own minimum); relay, headless client and forwarder each in a process of their own.`);
console.log('truth: from the forwarder\'s own log of what it did to each datagram; NetPoke: the survey_metrics rows, aggregated by counts');
console.log('(load-* scenarios: the client\'s idle and loaded round trips, RPM and goodput, with a download through the forwarder).\n');

const db = await startTestDb();
const relay = await startRelayApart({ url: db.url, token: db.authToken }, db.dir);
let failed = 0;
try {
  for (const scenario of chosen) {
    try {
      if (scenario.load) console.log(formatLoadScenario(await runLoadScenario(relay, scenario, opts.seconds)), '\n');
      else console.log(formatScenario(await runScenario({ relay, db: db.db, dataDir: db.dir }, scenario, Math.max(opts.seconds, scenario.minSeconds ?? 0))), '\n');
    } catch (e) {
      failed++;
      console.error(`== ${scenario.name}: HARNESS FAILED: ${(e as Error).message}\n`);
    }
  }
} finally {
  await relay.stop();
  await db.close();
}
if (failed) {
  console.error(`${failed} of ${chosen.length} scenario(s) could not be run`);
  process.exit(1);
}
