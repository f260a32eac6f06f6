import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

/**
 * Makes sure `.sst/platform` (SST's components and `config.d.ts`) matches the `sst` dependency,
 * running `sst install` offline when it is missing or stale. It needs the npm registry only,
 * no AWS account. The infra type-check and the infra tests read it.
 */

const root = fileURLToPath(new URL("..", import.meta.url));

export function ensureSstPlatform() {
  const read = (file: string) => readFileSync(path.join(root, file), "utf8");
  const wanted = (JSON.parse(read("node_modules/sst/package.json")) as { version: string }).version;
  const versionFile = ".sst/platform/version";
  const installed = existsSync(path.join(root, versionFile)) ? read(versionFile).trim() : undefined;
  if (installed === wanted) return;

  process.stdout.write(`sst platform ${installed ?? "missing"} -> installing ${wanted}\n`);
  const result = spawnSync(path.join(root, "node_modules/.bin/sst"), ["install"], {
    cwd: root,
    stdio: "inherit",
    env: {
      ...process.env,
      // Offline: skip SST's own dependency download checks and Bun; any stage name will do.
      SST_SKIP_DEPENDENCY_CHECK: "1",
      SST_NO_BUN: "1",
      SST_TELEMETRY_DISABLED: "1",
      SST_STAGE: process.env.SST_STAGE ?? "local",
    },
  });
  if (result.status !== 0) throw new Error(`sst install failed (exit ${result.status})`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  ensureSstPlatform();
}
