import { defineConfig } from 'vitest/config';

// Tests talk to real peers (Redis, simulators, vcsim, child processes). Each file isolates itself by
// key prefix and port 0, so files may run in parallel; tests inside a file run one after another.
// Two projects: `unit` (everything under test/ but the chaos suite) and `chaos` (test/chaos, real
// worker processes under faults). `npm test` runs both; `npm run test:chaos` only the second.
export default defineConfig({
  test: {
    globals: false,
    reporters: ['default', ['json', { outputFile: 'test-results/vitest.json' }]],
    projects: [
      {
        test: {
          name: 'unit',
          sequence: { groupOrder: 0 },
          include: ['test/**/*.test.ts'],
          exclude: ['test/chaos/**'],
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'chaos',
          // After every unit file: chaos scenarios need the machine to themselves.
          sequence: { groupOrder: 1 },
          include: ['test/chaos/**/*.test.ts'],
          testTimeout: 240_000,
          hookTimeout: 120_000,
          // One scenario at a time: they load both cores, and their clocks (lock expiry, grace
          // periods) must not stretch because another file competes for the CPU.
          fileParallelism: false,
        },
      },
    ],
  },
});
