import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { TestProject } from "vitest/node";
import { freePort, waitUntilOk } from "../../../scripts/net";

/**
 * Starts the whole app the way a developer does (`npm run dev`: API + worker + scheduler + Vite)
 * on free ports with a data directory of its own, for the e2e tests, and stops it afterwards.
 */

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const root = fileURLToPath(new URL("../../..", import.meta.url));

declare module "vitest" {
  export interface ProvidedContext {
    baseURL: string;
  }
}

export async function setup(project: TestProject) {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `No Chromium at ${CHROMIUM}. Install Debian's: sudo apt-get install chromium (or set CHROMIUM_PATH).`,
    );
  }
  const [apiPort, webPort] = [await freePort(), await freePort()];
  const data = mkdtempSync(path.join(tmpdir(), "slipway-e2e-"));
  const child = spawn("npm", ["run", "dev"], {
    cwd: root,
    detached: true, // its own process group, stopped like a terminal's Ctrl-C
    stdio: ["ignore", "ignore", "inherit"],
    env: {
      ...process.env,
      PORT: String(apiPort),
      WEB_PORT: String(webPort),
      PGLITE_DIR: path.join(data, "pglite"),
      STORAGE_DIR: path.join(data, "storage"),
      LOG_LEVEL: "warn",
    },
  });
  await waitUntilOk(`http://127.0.0.1:${apiPort}/api/health/ready`, child, { intervalMs: 100 });
  await waitUntilOk(`http://localhost:${webPort}/`, child, { intervalMs: 100 });
  project.provide("baseURL", `http://localhost:${webPort}`);

  return async () => {
    if (child.pid && child.exitCode === null) {
      process.kill(-child.pid, "SIGINT");
      await new Promise((resolve) => child.once("exit", resolve));
    }
    rmSync(data, { recursive: true, force: true });
  };
}
