import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 180_000,
    // Two cores: one fork per core keeps decode-heavy files from starving each other.
    pool: 'forks',
    maxWorkers: 2,
    // Type tests (test/types/*.test-d.ts): the public types as users see them
    // in dist/, checked by tsc; typos must be refused.
    typecheck: {
      enabled: true,
      include: ['test/types/**/*.test-d.ts'],
      tsconfig: 'test/types/tsconfig.json',
    },
  },
});
