import { defineConfig } from "vitest/config";

// `npm run test:e2e`: the app in real Chromium, served by `npm run dev` on free ports.
export default defineConfig({
  test: {
    name: "e2e",
    include: ["packages/web/e2e/**/*.e2e.ts"],
    globalSetup: ["packages/web/e2e/setup.ts"],
    environment: "node",
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
