import { defineConfig } from 'vitest/config';

// Integration test files share one Redis server (each under its own prefix) and start
// sandboxes on ephemeral ports; running files one at a time keeps timing-sensitive
// tests (polling, crashes) independent of each other on a 2-core machine.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/setup/global-redis.ts'],
    fileParallelism: false,
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
