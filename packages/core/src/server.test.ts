import { spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import path from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { freePort, waitUntilOk } from "../../../scripts/net";
import { repoRoot } from "./config";

describe("container entry", () => {
  it("the production bundle boots, migrates, serves ready, and stops cleanly on SIGTERM", async () => {
    // The exact build the Dockerfile runs.
    const build = spawnSync("npm", ["run", "build:server", "-w", "@slipway/core"], {
      cwd: repoRoot,
      encoding: "utf8",
    });
    expect(build.status, build.stderr).toBe(0);

    const port = await freePort();
    const child = spawn(process.execPath, [path.join(repoRoot, "packages/core/dist/server.mjs")], {
      env: {
        ...process.env,
        PORT: String(port),
        DATABASE_URL: process.env.TEST_DATABASE_URL ?? "",
        PGLITE_DIR: "memory://",
        MIGRATE_ON_BOOT: "true",
        LOG_LEVEL: "info",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    onTestFinished(() => {
      if (child.exitCode === null) child.kill("SIGKILL");
    });
    let output = "";
    child.stdout?.on("data", (chunk) => {
      output += chunk;
    });
    child.stderr?.on("data", (chunk) => {
      output += chunk;
    });

    await waitUntilOk(`http://127.0.0.1:${port}/api/health/ready`, child);
    const health = await fetch(`http://127.0.0.1:${port}/api/health`);
    expect(await health.json()).toEqual({ status: "ok" });

    child.kill("SIGTERM");
    const [code] = await once(child, "exit");
    expect(code).toBe(0);
    const messages = output
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => (JSON.parse(line) as { message: string }).message);
    expect(messages).toEqual(
      expect.arrayContaining([
        "migrations up to date",
        "api listening",
        "api stopping",
        "api stopped",
      ]),
    );
  });
});
