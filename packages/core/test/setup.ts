import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, afterEach } from "vitest";
import { takeViolations } from "./contract";

// Every response a test receives from the API is checked against the OpenAPI document
// (test/contract.ts; the app, the site and every app a test boots are watched where test/app.ts
// and bootApp get them): a status the operation does not document, or a body off its schema,
// fails the test that received it.
afterEach(async () => {
  const violations = await takeViolations();
  if (violations.length > 0) {
    throw new Error(
      `Responses that break the OpenAPI document (test/contract.ts):\n  ${violations.join("\n  ")}`,
    );
  }
});

// Tests never touch a developer's DATABASE_URL: only TEST_DATABASE_URL, else in-memory PGlite.
// Empty values count as unset in config.
process.env.DATABASE_URL = process.env.TEST_DATABASE_URL ?? "";
process.env.PGLITE_DIR = "memory://";
process.env.LOG_LEVEL = process.env.TEST_LOG_LEVEL ?? "error";
process.env.MIGRATE_ON_BOOT = "false";
// Password hashes at Argon2id's floor, ~0.1 ms instead of ~15 ms each (account/password.ts): a
// run signs up and in thousands of times. Tests of the parameters unset it; config refuses it
// outside vitest and the bundles never read it.
process.env.SLIPWAY_TEST_ARGON2 = "cheap";
// This machine runs Node 20 by design; the SDK's notice that its 2027 releases need Node 22 would
// repeat in every test file. (Deployed code runs on Node 22 and 24.)
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";
// Each test file's uploads go to a directory of its own, never to a developer's .data/storage.
const storageDir = mkdtempSync(path.join(tmpdir(), "slipway-storage-"));
process.env.STORAGE_DIR = storageDir;
afterAll(() => rmSync(storageDir, { recursive: true, force: true }));

const [{ config }, client, { migrate }, { openMigratedPglite, openOnFirstUse }] = await Promise.all(
  [
    import("../src/config"),
    import("../src/db/client"),
    import("../src/db/migrator"),
    import("./database"),
  ],
);

if (!process.env.TEST_DATABASE_URL) {
  // Each test file gets its own PGlite, from the migrated template (the migrator then finds
  // nothing to do), opened when the file first uses it: files that never query skip it.
  const deferred = openOnFirstUse(async () => {
    const handle = await openMigratedPglite();
    await migrate(handle.db, config().migrationsDir);
    return handle;
  });
  client.setDatabase(deferred.handle);
  afterAll(async () => {
    deferred.retire();
    await client.closeDatabase();
  });
} else {
  // On Postgres all files share the test database and isolate with per-test rollback.
  // Concurrent test files all call this; the migrator's lock makes it safe.
  await migrate((await client.database()).db, config().migrationsDir);
  afterAll(client.closeDatabase);
}
