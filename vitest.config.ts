import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 180_000,
    // Two cores: ORT sessions and Chromium each want one; more workers only thrash.
    maxWorkers: 2,
    fileParallelism: true,
  },
});
