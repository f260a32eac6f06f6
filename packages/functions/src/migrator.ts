import { config } from "@slipway/core/config";
import { type DatabaseHandle, misconfiguration, openDatabase } from "@slipway/core/db/client";
import { ensureAppRole, migrate } from "@slipway/core/db/migrator";
import { log } from "@slipway/core/log";
import { withErrorReporting } from "./sentry";

let owner: Promise<DatabaseHandle> | undefined;

/**
 * Deploy-time migrator: invoked once per deploy, before the new API serves (infra/database.ts).
 * The same `migrate` as dev boot and tests; its advisory lock makes overlapping deploys safe.
 * It connects as the schema's owner (the `Database` link), never as the app's role, and then
 * keeps that role (the `AppDatabase` link's user and password) able to use the rows it migrated.
 */
export const handler = await withErrorReporting(async () => {
  const settings = config();
  owner ??= openDatabase(settings.ownerDatabase);
  const { db } = await owner;
  try {
    const result = await migrate(db, settings.migrationsDir);
    log.info("migrations up to date", { applied: result.applied.length });
    if (settings.appRole) await ensureAppRole(db, settings.appRole);
    return result;
  } catch (error) {
    // A refused TLS handshake or login names DATABASE_SSL in the deploy's error.
    const ssl = settings.ownerDatabase.kind === "postgres" ? settings.ownerDatabase.ssl : "off";
    throw misconfiguration(error, ssl) ?? error;
  }
});
