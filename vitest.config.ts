import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/setup/http-agent.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Integration suites start real servers on fixed ports; running files one at a time keeps them apart.
    fileParallelism: false,
    pool: 'forks',
    // The leak test forces collections to measure what really stays behind.
    poolOptions: { forks: { execArgv: ['--expose-gc'] } },
  },
});
