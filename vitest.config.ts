import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";
import { liftoffOnly } from "./scripts/dev/node-flags.mjs";
import { LongestFirst } from "./scripts/test-cpu/longest-first.mjs";

// Test files that start PGlite spend a third less CPU with its WebAssembly on V8's baseline
// compiler only (scripts/dev/node-flags.mjs, ADR 023).
const execArgv = liftoffOnly();

// `TEST_CPU_REPORT=<file> npm test`: one JSON line per test file with the CPU it spent
// (scripts/test-cpu/probe.ts; `npx tsx scripts/test-cpu/report.ts <file>` sums them up).
const cpuProbe = process.env.TEST_CPU_REPORT
  ? [fileURLToPath(new URL("./scripts/test-cpu/probe.ts", import.meta.url))]
  : [];

// `npm test`: everything that needs no browser. Core runs on PGlite, or on the Postgres in
// TEST_DATABASE_URL when set (CI runs both); each test file gets its own database connection.
export default defineConfig({
  test: {
    // vitest's default is one worker less than the cores: one on a 2-core machine, where the
    // files then ran one after another while most of them wait on a child process, a socket or a
    // timer much of the time. Two there (~1.5x faster); as before on bigger machines.
    maxWorkers: Math.max(2, availableParallelism() - 1),
    // The longest files first, whatever their project (scripts/test-cpu/longest-first.mjs).
    sequence: { sequencer: LongestFirst },
    projects: [
      {
        test: {
          name: "core",
          root: "packages/core",
          environment: "node",
          include: ["src/**/*.test.ts", "test/**/*.test.ts"],
          setupFiles: [...cpuProbe, "test/setup.ts"],
          globalSetup: ["test/global-setup.ts"],
          execArgv,
          testTimeout: 20_000,
          hookTimeout: 60_000,
        },
      },
      {
        // The React app in happy-dom, against the real API in-process (no browser, no network).
        test: {
          name: "web",
          root: "packages/web",
          environment: "happy-dom",
          environmentOptions: { happyDOM: { url: "http://localhost:3000/" } },
          include: ["src/**/*.test.tsx", "src/**/*.test.ts"],
          setupFiles: [...cpuProbe, "../core/test/setup.ts"],
          globalSetup: ["../core/test/global-setup.ts"],
          execArgv,
          testTimeout: 20_000,
          hookTimeout: 60_000,
        },
      },
      {
        // The operator CLIs' own logic (AWS mocked at the SDK's edge): no database.
        test: {
          name: "scripts",
          root: ".",
          environment: "node",
          include: ["scripts/**/*.test.ts"],
          setupFiles: cpuProbe,
        },
      },
      {
        // sst.config.ts + infra/ evaluated offline with SST's components under Pulumi's mocks.
        test: {
          name: "infra",
          root: ".",
          environment: "node",
          include: ["infra/**/*.test.ts"],
          setupFiles: cpuProbe,
          globalSetup: ["infra/tests/setup.ts"],
          testTimeout: 30_000,
          hookTimeout: 600_000,
        },
      },
    ],
  },
});
