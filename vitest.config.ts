import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Lab tests share network namespaces and must not run concurrently with each other.
    fileParallelism: true,
    pool: 'forks',
  },
});
