import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readdirSync, rmSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { TestProject } from "vitest/node";
import { repoRoot } from "../src/config";
import { readTemplate, templateFile } from "../src/db/pglite-template";
import { serverBuildsDir } from "./server-build";

/**
 * vitest globalSetup (core and web): the PGlite templates every test database starts from
 * (db/pglite-template.ts) are checked once for the run, so no test file spends 40 MB of sha256
 * on them, and built here when missing, once, instead of by every worker at the same time.
 * And a directory for the run's one build of the server bundle.
 */
export async function setup(project: TestProject) {
  // As config() has it in the workers (test/setup.ts leaves MIGRATIONS_DIR alone).
  const migrationsDir = process.env.MIGRATIONS_DIR || path.join(repoRoot, "migrations");
  const files = [await templateFile({}), await templateFile({ migrationsDir })];
  const intact = files.every((file) => {
    try {
      readTemplate(file);
      return true;
    } catch {
      return false;
    }
  });
  if (!intact) {
    // In a child with the tests' environment: building migrates, and the migrator logs through
    // config(), which must not read this process's (a developer's DATABASE_URL, say).
    const script = path.join(path.dirname(fileURLToPath(import.meta.url)), "build-templates.ts");
    const result = spawnSync(process.execPath, ["--import", "tsx", script, migrationsDir], {
      stdio: ["ignore", "inherit", "inherit"],
      env: { ...process.env, DATABASE_URL: "", PGLITE_DIR: "memory://", LOG_LEVEL: "error" },
    });
    if (result.status !== 0)
      throw new Error(`building the PGlite templates failed (${result.status})`);
  }
  project.provide("pgliteTemplatesChecked", true);

  // The server bundle is built on first use, once for the run (server-build.ts): a run of files
  // that never need it pays nothing.
  const id = `run-${process.pid}-${randomBytes(4).toString("hex")}`;
  project.provide("serverBuildId", id);
  return () => {
    const names = existsSync(serverBuildsDir)
      ? readdirSync(serverBuildsDir, { withFileTypes: true })
      : [];
    for (const name of names) {
      if (name.name.startsWith(id)) {
        rmSync(path.join(serverBuildsDir, name.name), { recursive: true, force: true });
      }
    }
  };
}
