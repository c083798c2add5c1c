import { defineConfig } from 'vitest/config';

// Two projects: `unit` (pure and in-process tests beside the code, run in parallel) and
// `e2e` (the lab suites: real namespaces and daemons, one file at a time because only
// one lab can exist on a machine).
export default defineConfig({
  test: {
    reporters: process.env.CI ? ['default', 'hanging-process'] : ['default'],
    projects: [
      {
        test: {
          name: 'unit',
          include: ['packages/*/src/**/*.test.ts'],
          testTimeout: 30_000,
          hookTimeout: 30_000,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test-e2e/suites/**/*.e2e.test.ts'],
          fileParallelism: false,
          testTimeout: 300_000,
          hookTimeout: 300_000,
        },
      },
    ],
  },
});
