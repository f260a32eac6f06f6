import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readdirSync, rmSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import postgres from "postgres";
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
  const files = [
    await templateFile({ slim: true }),
    await templateFile({ migrationsDir, slim: true }),
  ];
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
  return async () => {
    await checkNothingCommitted();
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

// Tables whose rows outlive a test by design: the migrator's journal, the rate limits' counters
// (a refused request still counts, committed beside its transaction: limit/limit.ts), and what
// the task machinery writes after a commit.
const OUTLIVE_TESTS = new Set([
  "__drizzle_migrations",
  "rate_limit",
  "local_queue_message",
  "task_receipt",
]);

/**
 * On Postgres every test file shares one database and isolates with per-test rollback: a test
 * that commits leaks its rows into whatever other files count or list at that moment (a flaky
 * failure somewhere else: a digest with a user too many, a "nothing written" check off by one).
 * At the end of the run that database holds nothing else, or the run fails naming what it holds.
 */
async function checkNothingCommitted() {
  const url = process.env.TEST_DATABASE_URL;
  if (!url) return;
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const tables = await sql<{ name: string }[]>`
      select table_name as name from information_schema.tables
      where table_schema = 'public' and table_type = 'BASE TABLE' order by 1`;
    const left: string[] = [];
    for (const { name } of tables) {
      if (OUTLIVE_TESTS.has(name)) continue;
      const rows = await sql.unsafe(`select * from "${name}" limit 3`);
      if (rows.length > 0) left.push(`${name}: ${JSON.stringify(rows)}`);
    }
    if (left.length > 0) {
      // vitest reports a teardown's throw as "error during close" and still exits 0.
      process.exitCode = 1;
      process.stderr.write(
        `A test committed to the shared test database (wrap it in rollback(), or give it freshDatabase()):\n  ${left.join("\n  ")}\n`,
      );
    }
  } finally {
    await sql.end();
  }
}
