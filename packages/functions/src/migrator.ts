import { config } from "@slipway/core/config";
import { database } from "@slipway/core/db/client";
import { migrate } from "@slipway/core/db/migrator";

/**
 * Deploy-time migrator: invoked once per deploy, before the new API serves (infra/database.ts).
 * The same `migrate` as dev boot and tests; its advisory lock makes overlapping deploys safe.
 */
export async function handler() {
  const { db } = await database();
  return migrate(db, config().migrationsDir);
}
