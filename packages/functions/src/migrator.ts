import { config } from "@slipway/core/config";
import { database } from "@slipway/core/db/client";
import { migrate } from "@slipway/core/db/migrator";
import { log } from "@slipway/core/log";
import { withErrorReporting } from "./sentry";

/**
 * Deploy-time migrator: invoked once per deploy, before the new API serves (infra/database.ts).
 * The same `migrate` as dev boot and tests; its advisory lock makes overlapping deploys safe.
 */
export const handler = await withErrorReporting(async () => {
  const { db } = await database();
  const result = await migrate(db, config().migrationsDir);
  log.info("migrations up to date", { applied: result.applied.length });
  return result;
});
