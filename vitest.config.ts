import { defineConfig } from 'vitest/config';

// Tests talk to real peers (Redis, simulators, vcsim, child processes). Each file isolates itself by
// queue prefix and port 0, so files may run in parallel; tests inside a file run one after another.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globals: false,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    reporters: ['default', ['json', { outputFile: 'test-results/vitest.json' }]],
  },
});
