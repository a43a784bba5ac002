import { statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runProbe } from '../../cli/run-probe.js';
import { startLocalSystem } from '../helpers/npm-start.js';

describe('npm start (the README command)', () => {
  it('runs database, relay and edge under wrangler dev, prints the URL, serves a survey, and stops cleanly on Ctrl-C', async () => {
    const sys = await startLocalSystem();
    let stopped = false;
    try {
      expect(sys.url).toBe(`http://127.0.0.1:${sys.ports.edge}`);
      expect(sys.output()).toContain(`npm run probe -- --url ${sys.url} --key demo`);

      const page = await fetch(`${sys.url}/?key=demo`);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('<script type="module" src="/app.js">');
      expect((await fetch(`${sys.url}/app.js`)).status).toBe(200);

      const result = await runProbe({ url: sys.url, key: 'demo', durationMs: 3_000 });
      expect(result.seconds.length).toBeGreaterThanOrEqual(2);
      expect(result.seconds.at(-1)!.s2c.probe_count).toBeGreaterThan(80);
      expect(result.pcapAvailable).toBe(true);

      expect(statSync(join(sys.dataDir, 'netpoke.db')).isFile()).toBe(true);
      expect(statSync(join(sys.dataDir, 'local-secret')).mode & 0o777).toBe(0o600);

      await sys.stop();
      stopped = true;
      expect(sys.output()).not.toMatch(/while stopping|Error:/);
    } finally {
      if (!stopped) await sys.stop();
    }
  }, 120_000);
});
