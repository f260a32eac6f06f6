import { config } from "@slipway/core/config";
import { type DatabaseHandle, misconfiguration, openDatabase } from "@slipway/core/db/client";
import { ensureAppRole, migrate } from "@slipway/core/db/migrator";
import {
  databaseOf,
  dropStageDatabase,
  ensureStageDatabase,
  maintenanceURL,
} from "@slipway/core/db/stage-database";
import { log } from "@slipway/core/log";
import { withErrorReporting } from "./sentry";

let owner: Promise<DatabaseHandle> | undefined;

/**
 * What the deploy's invocation sends (infra/database.ts). A preview's invocation is CRUD-scoped:
 * Pulumi adds `tf.action` ("create", "update", "delete") to the input.
 */
export interface MigratorEvent {
  deployedAt?: string;
  tf?: { action?: "create" | "update" | "delete" };
}

/**
 * Deploy-time migrator: invoked once per deploy, before the new API serves (infra/database.ts).
 * The same `migrate` as dev boot and tests; its advisory lock makes overlapping deploys safe.
 * It connects as the schema's owner (the `Database` link), never as the app's role, and then
 * keeps that role (the `AppDatabase` link's user and password) able to use the rows it migrated.
 * A preview's (DATABASE_SHARED_SERVER, ADR 026) first creates its database on the shared
 * instance, and on the stage's removal drops it and its app role instead of migrating.
 */
export const handler = await withErrorReporting(async (event: MigratorEvent | undefined) => {
  const settings = config();
  const ownerSettings = settings.ownerDatabase;
  try {
    if (settings.sharedDatabaseServer) {
      if (ownerSettings.kind !== "postgres")
        throw new Error("DATABASE_SHARED_SERVER needs the Database link (a Postgres server)");
      const name = databaseOf(ownerSettings.url);
      const maintenance = await openDatabase({
        ...ownerSettings,
        url: maintenanceURL(ownerSettings.url),
        poolMax: 1,
      });
      try {
        if (event?.tf?.action === "delete") {
          if (!settings.appRole) throw new Error("no AppDatabase link: which app role to drop?");
          await dropStageDatabase(maintenance.db, name, settings.appRole.username);
          return { dropped: name };
        }
        await ensureStageDatabase(maintenance.db, name);
      } finally {
        await maintenance.close();
      }
    }
    owner ??= openDatabase(ownerSettings);
    const { db } = await owner;
    const result = await migrate(db, settings.migrationsDir);
    log.info("migrations up to date", { applied: result.applied.length });
    if (settings.appRole) await ensureAppRole(db, settings.appRole);
    return result;
  } catch (error) {
    // A refused TLS handshake or login names DATABASE_SSL in the deploy's error.
    const ssl = ownerSettings.kind === "postgres" ? ownerSettings.ssl : "off";
    throw misconfiguration(error, ssl) ?? error;
  }
});
